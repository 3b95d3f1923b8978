import { rm } from 'node:fs/promises';
import type { Request, Response } from 'express';
import multer from 'multer';
import { AppError } from '../domain/errors.ts';
import { receiveToFile } from '../services/bundles/receive-upload.ts';

export interface ReceivedBundle {
  path: string;
  size: number;
  metadata: Record<string, unknown>;
}

function parseMetadata(raw: unknown): Record<string, unknown> {
  if (raw === undefined || raw === '') return {};
  try {
    const v: unknown = JSON.parse(String(raw));
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw AppError.badRequest('The "metadata" part of the upload must be a JSON object.');
}

/**
 * A bundle upload in either form clients use: the raw tar.gz as the body (any or no content
 * type, chunked or with a length), or multipart with an `archive` file and a `metadata` JSON
 * field (rsconnect-python with git metadata). Either way it streams to disk.
 */
export async function receiveBundle(req: Request, res: Response, tmpDir: string, maxBytes: number): Promise<ReceivedBundle> {
  if (!req.is('multipart/form-data')) {
    const length = req.get('content-length');
    const file = await receiveToFile(req, tmpDir, maxBytes, length === undefined ? undefined : Number(length));
    return { ...file, metadata: {} };
  }
  const upload = multer({ dest: tmpDir, limits: { fileSize: maxBytes, files: 1, fields: 8, fieldSize: 64 * 1024 } }).single('archive');
  await new Promise<void>((resolve, reject) =>
    upload(req, res, (err?: unknown) => {
      if (!err) return resolve();
      // Busboy's own errors ("Boundary not found", "Unexpected end of form") mean a malformed body.
      if ((err as { name?: string }).name === 'MulterError') return reject(err);
      reject(AppError.badRequest(`The multipart upload is malformed: ${(err as Error).message}.`));
    }),
  );
  if (!req.file) throw AppError.badRequest('The multipart upload has no "archive" file part.', 12);
  try {
    return { path: req.file.path, size: req.file.size, metadata: parseMetadata((req.body as Record<string, unknown> | undefined)?.metadata) };
  } catch (err) {
    await rm(req.file.path, { force: true });
    throw err;
  }
}
