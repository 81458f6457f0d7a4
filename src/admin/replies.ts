/** @module The admin API's error answers: `{ error: { code, message } }`, codes in docs/errors.md. */
import type { FastifyReply } from 'fastify';
import { z } from 'zod';

export function fail(reply: FastifyReply, status: number, code: string, message: string, extra: object = {}) {
  return reply.code(status).send({ error: { code, message, ...extra } });
}

export function badInput(reply: FastifyReply, error: z.ZodError) {
  return fail(reply, 400, 'CF_ERR_ADMIN_BAD_INPUT', z.prettifyError(error));
}
