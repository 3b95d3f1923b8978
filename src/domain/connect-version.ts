/**
 * The Connect version Lectern reports. Clients switch behaviour on it (connect-api.md §5.3):
 * from 2025.06.0 rsconnect-python builds a draft (`activate: false`), checks it at
 * `/content/{guid}/_bundle{id}/`, then activates it, which Lectern supports. Above 2025.11.0
 * it would send git metadata as multipart, which Lectern also accepts, but staying at or below
 * it keeps the plain upload the default for every client version.
 * Report renders see it too, in SPARK_CONNECT_USER_AGENT (Quarto's email metadata format follows it).
 */
export const ADVERTISED_CONNECT_VERSION = '2025.09.0';
