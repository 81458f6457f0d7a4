/** @module Every Redis call the store makes is timed for the metrics and counted when it fails. */
import { metrics } from '../metrics/metrics.js';

/** Times a Redis call for the metrics, and counts it when it fails. */
export async function timed<T>(operation: string, call: Promise<T>): Promise<T> {
  const end = metrics.redisDuration.startTimer({ operation });
  try {
    return await call;
  } catch (error) {
    metrics.redisErrors.inc({ operation });
    throw error;
  } finally {
    end();
  }
}
