/**
 * Waiting for a condition rather than for a fixed time: CI shares its cores, so anything timed can
 * be late. Polls until `condition` holds (or returns a value), and fails with `what` at the deadline.
 */
import type { TestEdge } from './fixtures.js';

export async function waitFor<T>(
  condition: () => T | Promise<T>,
  what: string,
  { timeoutMs = 10_000, intervalMs = 5 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<Exclude<T, false | null | undefined>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== undefined && value !== null && value !== false) return value as Exclude<T, false | null | undefined>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Resolves once the edge has no fill in flight and no image waiting: everything it fetched is stored. */
export async function settled(edge: TestEdge): Promise<void> {
  await waitFor(
    () => edge.app.background.fills() === 0 && edge.app.background.images.pending === 0,
    'the edge to finish storing',
  );
  await edge.store.drain(edge.service);
}

/** A promise and the function that resolves it: an origin waits on it, the test opens it. */
export function gate(): { open: () => void; opened: Promise<void> } {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}
