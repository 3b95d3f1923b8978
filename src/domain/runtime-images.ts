/**
 * A runtime image content can run in (Connect's "execution environment"): what the container
 * backends report and what `GET /v1/environments` lists.
 */
export interface RuntimeImage {
  /** `lectern/r:latest`: what content pins. */
  name: string;
  id: string;
  created: string;
  r: string | null;
  python: string | null;
  quarto: string | null;
}
