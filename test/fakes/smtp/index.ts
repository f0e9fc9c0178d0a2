/**
 * A tiny SMTP sink for tests: accepts mail on 127.0.0.1 (random port) the way RFC 5321 has a
 * server answer a client — 220 greeting, EHLO/HELO, MAIL FROM, RCPT TO, DATA (354, then the text up
 * to "<CRLF>.<CRLF>" with dot-stuffing undone), RSET, NOOP, QUIT; 503 for commands out of sequence,
 * 500 for unknown ones. No TLS, no AUTH (an n8n SMTP credential with SSL/TLS off and STARTTLS
 * disabled, no user). Every accepted message is kept, its headers and text decoded
 * (quoted-printable and base64 bodies, RFC 2047 encoded subjects).
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface ReceivedMail {
	from: string;
	to: string[];
	/** The message as sent (headers and body, dot-stuffing undone). */
	raw: string;
	headers: Record<string, string>;
	subject: string;
	/** The plain-text body, transfer encoding undone (the first text/plain part of a multipart). */
	text: string;
}

function decodeQuotedPrintable(value: string): string {
	const bytes: number[] = [];
	const text = value.replace(/=\r?\n/g, '');
	for (let i = 0; i < text.length; i++) {
		if (text[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
			bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
			i += 2;
		} else bytes.push(...Buffer.from(text[i], 'utf8'));
	}
	return Buffer.from(bytes).toString('utf8');
}

/** RFC 2047 encoded words (`=?utf-8?Q?…?=` / `=?utf-8?B?…?=`). */
function decodeWords(value: string): string {
	return value.replace(/\s*=\?([^?]+)\?([QqBb])\?([^?]*)\?=\s*/g, (_m, _charset: string, kind: string, data: string) =>
		kind.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8') : decodeQuotedPrintable(data.replace(/_/g, ' ')),
	);
}

function parseHeaders(block: string): Record<string, string> {
	const headers: Record<string, string> = {};
	for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
		const colon = line.indexOf(':');
		if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
	}
	return headers;
}

function decodeBody(headers: Record<string, string>, body: string): string {
	const encoding = (headers['content-transfer-encoding'] ?? '').toLowerCase();
	if (encoding === 'quoted-printable') return decodeQuotedPrintable(body);
	if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
	return body;
}

function textOf(headers: Record<string, string>, body: string): string {
	const type = headers['content-type'] ?? 'text/plain';
	const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
	if (/^multipart\//i.test(type) && boundary) {
		for (const part of body.split(`--${boundary}`).slice(1)) {
			const split = part.search(/\r?\n\r?\n/);
			if (split < 0) continue;
			const partHeaders = parseHeaders(part.slice(0, split));
			const partBody = part.slice(split).replace(/^\r?\n\r?\n/, '').replace(/\r?\n$/, '');
			if (/^text\/plain/i.test(partHeaders['content-type'] ?? 'text/plain')) return decodeBody(partHeaders, partBody);
		}
		return '';
	}
	return decodeBody(headers, body);
}

export function parseMail(from: string, to: string[], raw: string): ReceivedMail {
	const split = raw.search(/\r?\n\r?\n/);
	const headers = parseHeaders(split < 0 ? raw : raw.slice(0, split));
	const body = split < 0 ? '' : raw.slice(split).replace(/^\r?\n\r?\n/, '');
	return { from, to, raw, headers, subject: decodeWords(headers.subject ?? ''), text: textOf(headers, body).replace(/\r\n/g, '\n') };
}

export class SmtpSink {
	readonly messages: ReceivedMail[] = [];
	port = 0;
	private readonly server: Server;
	private readonly sockets = new Set<Socket>();
	private readonly waiters = new Set<() => void>();

	constructor() {
		this.server = createServer((socket) => this.session(socket));
	}

	async start(): Promise<this> {
		await new Promise<void>((resolve, reject) => {
			this.server.once('error', reject);
			this.server.listen(0, '127.0.0.1', () => resolve());
		});
		const address = this.server.address();
		if (address && typeof address === 'object') this.port = address.port;
		return this;
	}

	async stop(): Promise<void> {
		for (const socket of this.sockets) socket.destroy();
		await new Promise<void>((resolve) => this.server.close(() => resolve()));
	}

	/** Messages to an address (case-insensitive). */
	to(address: string): ReceivedMail[] {
		return this.messages.filter((m) => m.to.some((t) => t.toLowerCase() === address.toLowerCase()));
	}

	/** Waits until `check` holds for the messages received (checked after every message). */
	async waitFor(check: (messages: ReceivedMail[]) => boolean, timeoutMs = 60_000): Promise<ReceivedMail[]> {
		const deadline = Date.now() + timeoutMs;
		while (!check(this.messages)) {
			const left = deadline - Date.now();
			if (left <= 0) throw new Error(`SMTP sink: condition not met after ${timeoutMs} ms (${this.messages.length} messages)`);
			await new Promise<void>((resolve) => {
				const wake = () => {
					clearTimeout(timer);
					this.waiters.delete(wake);
					resolve();
				};
				const timer = setTimeout(wake, Math.min(left, 500));
				this.waiters.add(wake);
			});
		}
		return this.messages;
	}

	private session(socket: Socket): void {
		this.sockets.add(socket);
		socket.on('close', () => this.sockets.delete(socket));
		socket.on('error', () => socket.destroy());
		socket.setEncoding('utf8');
		let buffer = '';
		let greeted = false;
		let from: string | null = null;
		let to: string[] = [];
		let data: string[] | null = null;
		const reply = (line: string) => socket.write(`${line}\r\n`);
		const reset = () => {
			from = null;
			to = [];
			data = null;
		};
		reply('220 localhost ESMTP test sink');
		socket.on('data', (chunk: string) => {
			buffer += chunk;
			let newline: number;
			while ((newline = buffer.indexOf('\r\n')) >= 0) {
				const line = buffer.slice(0, newline);
				buffer = buffer.slice(newline + 2);
				if (data) {
					if (line === '.') {
						this.messages.push(parseMail(from ?? '', to, data.join('\r\n')));
						for (const wake of [...this.waiters]) wake();
						reset();
						reply('250 2.0.0 OK: queued');
					} else data.push(line.startsWith('.') ? line.slice(1) : line);
					continue;
				}
				const verb = line.slice(0, 4).toUpperCase();
				if (verb === 'EHLO') {
					greeted = true;
					reset();
					socket.write('250-localhost greets you\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760\r\n');
				} else if (verb === 'HELO') {
					greeted = true;
					reset();
					reply('250 localhost');
				} else if (verb === 'MAIL') {
					const address = /^MAIL FROM:\s*<([^>]*)>/i.exec(line)?.[1];
					if (!greeted || from !== null) reply('503 5.5.1 Bad sequence of commands');
					else if (address === undefined) reply('501 5.5.4 Syntax: MAIL FROM:<address>');
					else {
						from = address;
						reply('250 2.1.0 OK');
					}
				} else if (verb === 'RCPT') {
					const address = /^RCPT TO:\s*<([^>]+)>/i.exec(line)?.[1];
					if (from === null) reply('503 5.5.1 Bad sequence of commands');
					else if (!address) reply('501 5.5.4 Syntax: RCPT TO:<address>');
					else {
						to.push(address);
						reply('250 2.1.5 OK');
					}
				} else if (verb === 'DATA') {
					if (from === null || to.length === 0) reply('503 5.5.1 Bad sequence of commands');
					else {
						data = [];
						reply('354 End data with <CR><LF>.<CR><LF>');
					}
				} else if (verb === 'RSET') {
					reset();
					reply('250 2.0.0 OK');
				} else if (verb === 'NOOP') reply('250 2.0.0 OK');
				else if (verb === 'QUIT') {
					reply('221 2.0.0 Bye');
					socket.end();
				} else reply('500 5.5.2 Command not recognized');
			}
		});
	}
}

export async function startSmtpSink(): Promise<SmtpSink> {
	return new SmtpSink().start();
}
