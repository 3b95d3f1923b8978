import WebSocket from 'ws';

/**
 * A Shiny session over its WebSocket, as the browser's shiny.js opens it: sends `init` with the
 * slider at `n` and resolves with the first value of output `out` the server sends back.
 */
export function shinyRoundTrip(pageUrl: string, headers: Record<string, string>, n: number): Promise<string> {
  const url = new URL('websocket/', pageUrl.endsWith('/') ? pageUrl : `${pageUrl}/`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('no value from the Shiny session within 20 s'));
    }, 20_000);
    ws.on('open', () => ws.send(JSON.stringify({ method: 'init', data: { n, '.clientdata_output_out_hidden': false } })));
    ws.on('message', (raw) => {
      const text = String(raw);
      const msg = JSON.parse(text.replace(/^[^{]*/, '')) as { values?: Record<string, unknown> };
      const out = msg.values?.out;
      if (out !== undefined) {
        clearTimeout(timer);
        ws.close();
        resolve(String(out));
      }
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      let body = '';
      res.on('data', (b: Buffer) => (body += String(b)));
      res.on('end', () => reject(new Error(`WebSocket refused: ${res.statusCode} ${body.slice(0, 500)}`)));
    });
  });
}
