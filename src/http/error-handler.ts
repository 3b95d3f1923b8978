import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { AppError, ErrorCode } from '../domain/errors.ts';

export const API_PREFIX = '/__api__';

function wantsJson(req: Request): boolean {
  if (req.path.startsWith(API_PREFIX)) return true;
  return req.accepts(['html', 'json']) === 'json';
}

/** Turns anything thrown into an AppError: library errors into 4xx, the unknown into a 500. */
function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as { type?: string; code?: string; status?: number; statusCode?: number; message?: string };
  if (e?.type === 'entity.parse.failed') return AppError.badRequest('The request body is not valid JSON.');
  if (e?.type === 'entity.too.large') return new AppError(413, ErrorCode.invalidParameter, 'The request body is too large.');
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
    return new AppError(415, ErrorCode.invalidParameter, 'The request body encoding is not supported.');
  }
  if ((e as { name?: string })?.name === 'MulterError') {
    return e.code === 'LIMIT_FILE_SIZE'
      ? new AppError(413, ErrorCode.invalidParameter, "The bundle is larger than this server's limit.")
      : AppError.badRequest(`The multipart upload is malformed (${e.code ?? 'unknown'}).`);
  }
  if (e?.code === 'EBADCSRFTOKEN') {
    return new AppError(403, ErrorCode.forbidden, 'The form has expired or did not come from Lectern: reload the page and try again.');
  }
  const status = e?.status ?? e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new AppError(status, ErrorCode.invalidParameter, e.message ?? 'Bad request.');
  }
  return new AppError(500, ErrorCode.internal, 'An internal failure occurred.');
}

/** Unknown paths: the API says so in its error shape, pages get a 404 page. */
export function notFoundHandler(req: Request, _res: Response, next: NextFunction) {
  next(
    req.path.startsWith(API_PREFIX)
      ? AppError.notFound('The requested method or endpoint is not supported.', ErrorCode.unsupportedEndpoint)
      : AppError.notFound('There is nothing at this address.'),
  );
}

/** The one error handler: Connect's body under /__api__, an HTML page for browsers. */
export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const appErr = toAppError(err);
    if (appErr.status >= 500) (req.log ?? logger).error({ err }, 'request failed');
    if (appErr.status === 401 && !req.path.startsWith(API_PREFIX)) res.set('WWW-Authenticate', 'Key');
    if (appErr.retryAfter !== undefined) res.set('Retry-After', String(appErr.retryAfter));
    res.status(appErr.status);
    if (wantsJson(req)) {
      res.json({ code: appErr.code, error: appErr.message, payload: appErr.payload ?? null });
      return;
    }
    res.render('error', { title: `Error ${appErr.status}`, status: appErr.status, message: appErr.message, user: req.user });
  };
}
