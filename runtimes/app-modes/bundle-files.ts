import { AppError, ErrorCode } from '../../src/domain/errors.ts';
import type { Manifest } from '../../src/domain/manifest.ts';

/** Manifest paths may carry R's `./`; the extracted file list never does. */
const clean = (p: string) => p.replace(/^(\.\/)+/, '');

/** The manifest fields that name a file a mode starts from. */
type FileField = 'primary_html' | 'primary_rmd' | 'entrypoint';

/**
 * An uploaded bundle as an app mode's check (`AppModeCheck.validate`) sees it: the manifest
 * and the list of extracted files, with the questions the checks ask of them. Pure: nothing
 * is read from disk.
 */
export class BundleFiles {
  private readonly have: ReadonlySet<string>;
  private readonly atRoot: readonly string[];

  constructor(
    /** The canonical mode, for error messages. */
    readonly mode: string,
    private readonly manifest: Manifest,
    readonly files: readonly string[],
  ) {
    this.have = new Set(files);
    this.atRoot = files.filter((f) => !f.includes('/')).sort();
  }

  has(file: string): boolean {
    return this.have.has(file);
  }

  /** The first of these names the bundle has. */
  first(...names: string[]): string | null {
    return names.find((n) => this.have.has(n)) ?? null;
  }

  /** Files at the bundle's root with one of these endings (any case), sorted. */
  rootWith(...exts: string[]): string[] {
    return this.atRoot.filter((f) => exts.some((e) => f.toLowerCase().endsWith(e)));
  }

  /** A manifest field that is set to something: null and '' both mean "not given". */
  given(field: FileField): string | null {
    const value = this.manifest.metadata[field];
    return typeof value === 'string' && value !== '' ? clean(value) : null;
  }

  /** A file the manifest names explicitly must be there. */
  named(file: string, field: string): string {
    if (!this.have.has(file)) throw this.missing(`names ${JSON.stringify(file)} as its ${field}, but the bundle has no such file`);
    return file;
  }

  /** The upload's refusal: `bundle for appmode "<mode>" <what>`. */
  missing(what: string): AppError {
    return AppError.badRequest(`bundle for appmode "${this.mode}" ${what}`, ErrorCode.invalidParameter);
  }
}
