/**
 * The SMTP sink against RFC 5321's command sequence (§3.3 mail transactions, §4.1.1.4 DATA and
 * §4.5.2 dot-stuffing, §4.2 reply codes; 503 for commands out of order) and against nodemailer,
 * the client n8n's Send Email node uses (.n8n-runtime's copy).
 */
import { createConnection } from 'node:net';
import path from 'node:path';

import { startSmtpSink, type SmtpSink } from './index';

const RUNTIME = path.resolve(__dirname, '../../../.n8n-runtime/node_modules');

async function converse(port: number, lines: string[]): Promise<string[]> {
	const socket = createConnection({ host: '127.0.0.1', port });
	socket.setEncoding('utf8');
	const replies: string[] = [];
	let buffer = '';
	const next = () =>
		new Promise<string>((resolve) => {
			const check = () => {
				const match = /(^|\r\n)(\d{3}) [^\r\n]*\r\n/.exec(buffer);
				if (!match) return false;
				const end = match.index + match[0].length;
				const reply = buffer.slice(0, end);
				buffer = buffer.slice(end);
				resolve(reply.trim().split('\r\n').pop()!.slice(0, 3));
				return true;
			};
			if (check()) return;
			const onData = (chunk: string) => {
				buffer += chunk;
				if (check()) socket.off('data', onData);
			};
			socket.on('data', onData);
		});
	replies.push(await next());
	for (const line of lines) {
		socket.write(`${line}\r\n`);
		// DATA's body lines get no reply until the final dot.
		if (replies[replies.length - 1] === '354' && line !== '.') continue;
		replies.push(await next());
	}
	socket.destroy();
	return replies;
}

describe('SMTP sink', () => {
	let sink: SmtpSink;
	beforeEach(async () => (sink = await startSmtpSink()));
	afterEach(() => sink.stop());

	test('a mail transaction: 220, 250 to EHLO/MAIL/RCPT, 354 to DATA, 250 after the final dot; dot-stuffing is undone', async () => {
		const replies = await converse(sink.port, ['EHLO client', 'MAIL FROM:<bot@example.org>', 'RCPT TO:<alice@example.org>', 'DATA', 'Subject: Hello', '', 'line one', '..leading dot', '.', 'QUIT']);
		expect(replies).toEqual(['220', '250', '250', '250', '354', '250', '221']);
		expect(sink.messages).toHaveLength(1);
		expect(sink.messages[0]).toMatchObject({ from: 'bot@example.org', to: ['alice@example.org'], subject: 'Hello', text: 'line one\n.leading dot' });
	});

	test('commands out of sequence get 503, unknown ones 500; nothing is kept', async () => {
		expect(await converse(sink.port, ['MAIL FROM:<a@b.c>', 'EHLO x', 'RCPT TO:<a@b.c>', 'DATA', 'FROB', 'QUIT'])).toEqual(['220', '503', '250', '503', '503', '500', '221']);
		expect(sink.messages).toEqual([]);
	});

	test('nodemailer (what n8n sends with) delivers text with non-ASCII, long lines and an encoded subject', async () => {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const nodemailer = require(require.resolve('nodemailer', { paths: [RUNTIME] })) as { createTransport: (o: object) => { sendMail: (m: object) => Promise<unknown>; close: () => void } };
		const transport = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, secure: false, ignoreTLS: true });
		const text = `Grüße! Your token: ticket-AbC123xyz\nRegister at https://app.example.org/#/register?token=ticket-AbC123xyz&server=${'x'.repeat(120)}`;
		await transport.sendMail({ from: 'Bot <bot@example.org>', to: 'Alice <alice@example.org>', subject: 'Dein Zugang — summit', text });
		transport.close();
		const [mail] = sink.to('alice@example.org');
		expect(mail.subject).toBe('Dein Zugang — summit');
		expect(mail.text.trim()).toBe(text);
		expect(mail.from).toBe('bot@example.org');
	});
});
