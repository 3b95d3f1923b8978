/**
 * What a report render may add to its process's variables (connect-api-next.md §4.5): the
 * report's name and addresses for blastula and Quarto's email footers, the Connect version
 * Quarto reads to choose its email format, and the product name connectapi checks. Nothing
 * else: in particular not CONNECT_API_KEY, CONNECT_SERVER or CONNECT_CONTENT_GUID, which the
 * process's own variables give and which a report's variables must never replace.
 */
const REPORT_VARIABLE = /^(RSC_REPORT_[A-Z_]+|SPARK_CONNECT_USER_AGENT|RSTUDIO_PRODUCT|POSIT_PRODUCT)$/;

/** A value must survive the sandbox's NUL-separated environment and one execve string. */
const MAX_VALUE_BYTES = 16 * 1024;

/** `env` as given, once every name is one a report may set and every value a plain string; throws otherwise. */
export function checkReportEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  const checked: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!REPORT_VARIABLE.test(name))
      throw new Error(
        `A report render cannot set the variable ${JSON.stringify(name)}: only RSC_REPORT_*, SPARK_CONNECT_USER_AGENT, RSTUDIO_PRODUCT and POSIT_PRODUCT.`,
      );
    if (typeof value !== 'string' || value.includes('\0') || Buffer.byteLength(value) > MAX_VALUE_BYTES)
      throw new Error(`The report variable ${name} must be a string without NUL of at most ${MAX_VALUE_BYTES} bytes.`);
    checked[name] = value;
  }
  return checked;
}
