/** An HTTP status as its class (`2xx` ... `5xx`): a bounded label, where the status itself need not be. */
export function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other';
}
