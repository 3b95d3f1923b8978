import type { z } from 'zod';
import { AppError, ErrorCode } from '../domain/errors.ts';

/**
 * Parses a JSON body or query against a schema. Wrong types are the client's mistake: a 400
 * naming every bad field, in the Connect error shape.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what = 'request body'): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : what}: ${i.message}`);
  throw new AppError(400, ErrorCode.invalidParameter, `Invalid ${what}: ${problems.join('; ')}`, { problems });
}
