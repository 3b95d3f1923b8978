import { z } from 'zod';
import { AppError, ErrorCode } from './errors.ts';

/**
 * A bundle's manifest.json as the clients write it (connect-api.md §7.2). Only the fields the
 * server reads are typed; anything else a client adds is kept on the object, never rejected,
 * because newer clients add fields faster than servers learn them.
 */
export interface Manifest {
  version: number;
  locale?: string;
  platform?: string | null;
  metadata: {
    appmode: string;
    entrypoint?: string | null;
    primary_rmd?: string | null;
    primary_html?: string | null;
    content_category?: string | null;
    has_parameters?: boolean;
  };
  packages: Record<string, unknown>;
  python?: {
    version?: string;
    package_manager?: { name?: string; version?: string; package_file?: string; allow_uv?: boolean };
  };
  quarto?: { version?: string; engines?: string[] };
  jupyter?: { hide_all_input?: boolean; hide_tagged_input?: boolean };
  environment?: {
    image?: string;
    environment_management?: { python?: boolean; r?: boolean; node?: boolean };
    python?: { requires?: string };
  };
  /** Written by `rsconnect deploy nodejs`; same shape as `python`. */
  node?: { version?: string; package_manager?: { name?: string; version?: string; package_file?: string } };
  files: Record<string, { checksum?: string }>;
  users?: unknown;
}

// R's jsonlite writes NULL as `null`, so an optional field's null means "absent".
const opt = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null ? undefined : v), schema.optional());
// Fields the interface types as `T | null` keep their null.
const nullable = <T extends z.ZodType>(schema: T) => schema.nullish();
// jsonlite also writes an empty named list as `[]`; that and null mean "no entries".
const mapOf = <T extends z.ZodType>(value: T) =>
  z.preprocess((v) => (v === null || v === undefined || (Array.isArray(v) && v.length === 0) ? {} : v), z.record(z.string(), value));

const packageManager = z.looseObject({
  name: opt(z.string()),
  version: opt(z.string()),
  package_file: opt(z.string()),
  allow_uv: opt(z.boolean()),
});

const manifestSchema = z.looseObject({
  version: opt(z.number()).transform((v) => v ?? 1),
  locale: opt(z.string()),
  platform: nullable(z.string()),
  metadata: z.looseObject({
    appmode: z.string(),
    entrypoint: nullable(z.string()),
    primary_rmd: nullable(z.string()),
    primary_html: nullable(z.string()),
    content_category: nullable(z.string()),
    has_parameters: opt(z.boolean()),
  }),
  packages: mapOf(z.unknown()),
  python: opt(z.looseObject({ version: opt(z.string()), package_manager: opt(packageManager) })),
  quarto: opt(z.looseObject({ version: opt(z.string()), engines: opt(z.array(z.string())) })),
  jupyter: opt(z.looseObject({ hide_all_input: opt(z.boolean()), hide_tagged_input: opt(z.boolean()) })),
  environment: opt(
    z.looseObject({
      image: opt(z.string()),
      environment_management: opt(z.looseObject({ python: opt(z.boolean()), r: opt(z.boolean()), node: opt(z.boolean()) })),
      python: opt(z.looseObject({ requires: opt(z.string()) })),
    }),
  ),
  node: opt(z.looseObject({ version: opt(z.string()), package_manager: opt(packageManager) })),
  files: mapOf(z.looseObject({ checksum: opt(z.string()) })),
  users: z.unknown().optional(),
});

/** `files["a.py"].checksum` rather than `files.a.py.checksum`: file names contain dots. */
function fieldName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

function invalid(message: string): AppError {
  return AppError.badRequest(message, ErrorCode.invalidParameter);
}

/** Parses and checks manifest.json; throws AppError 400 naming the first offending field. */
export function parseManifest(text: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw invalid(`manifest.json is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw invalid('manifest.json must contain a JSON object');
  }
  const result = manifestSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue ? fieldName(issue.path) : '';
    throw invalid(`manifest.json field "${field || '(root)'}" is invalid: ${issue?.message ?? 'unexpected value'}`);
  }
  const manifest: Manifest = result.data;
  return manifest;
}
