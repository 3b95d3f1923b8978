import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export const SMTP_USER = 'mailer';
export const SMTP_PASSWORD = 'Pa55-word-that-must-stay-secret';

export interface Received {
  envelopeFrom: string;
  envelopeTo: string[];
  mail: ParsedMail;
}

export interface TestSmtp {
  received: Received[];
  close(): Promise<void>;
}

/**
 * A real SMTP server on loopback: authentication required (USER and PASSWORD only), recipients
 * starting with "reject" refused with 550, each message parsed as a mail client would.
 */
export async function startSmtp(port: number, opts: { secure?: boolean; starttls?: boolean; delayMs?: number } = {}): Promise<TestSmtp> {
  const received: Received[] = [];
  const server = new SMTPServer({
    secure: opts.secure ?? false,
    authOptional: false,
    // Plain-text AUTH on a connection without TLS (security "none"); the check itself is real.
    allowInsecureAuth: true,
    disabledCommands: opts.starttls ? [] : ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) cb(null, { user: auth.username });
      else cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, cb) {
      if (address.address.startsWith('reject')) cb(Object.assign(new Error('No such user here'), { responseCode: 550 }));
      else cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        // skipImageLinks: keep cid: links as sent (by default they become data: URLs).
        void simpleParser(Buffer.concat(chunks), { skipImageLinks: true }).then((mail) => {
          received.push({
            envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            envelopeTo: session.envelope.rcptTo.map((r) => r.address),
            mail,
          });
          setTimeout(() => cb(), opts.delayMs ?? 0);
        }, cb);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return { received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
