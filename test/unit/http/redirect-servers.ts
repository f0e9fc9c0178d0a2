/**
 * Two local servers for the redirect tests: an "other origin" that records everything it is sent
 * (it must never see a token), and a front for the real service that answers chosen paths with a
 * redirect — to itself (same origin) or to the other origin — and forwards everything else to the
 * service unchanged, recording the Authorization header of each request.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
	method: string;
	path: string;
	authorization?: string;
	body: string;
}

export interface Server {
	url: string;
	requests: Recorded[];
	stop(): Promise<void>;
}

async function listen(
	handler: (
		req: http.IncomingMessage,
		body: Buffer,
		res: http.ServerResponse,
	) => void | Promise<void>,
): Promise<Server & { server: http.Server }> {
	const requests: Recorded[] = [];
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.on('end', () => {
			const body = Buffer.concat(chunks);
			requests.push({
				method: req.method ?? '',
				path: req.url ?? '',
				authorization: req.headers.authorization,
				body: body.toString(),
			});
			void Promise.resolve(handler(req, body, res)).catch(() => {
				res.writeHead(502);
				res.end();
			});
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	return {
		server,
		url,
		requests,
		stop: async () => {
			server.closeAllConnections();
			await new Promise((resolve) => server.close(resolve));
		},
	};
}

/** Records and answers 200 `{}`: what a credential thief would run. */
export async function startOtherOrigin(): Promise<Server> {
	return await listen((_req, _body, res) => {
		res.writeHead(200, { 'content-type': 'application/json' });
		res.end('{}');
	});
}

export interface Redirect {
	/** Requests whose path matches are redirected. */
	match: RegExp;
	status: 301 | 302 | 303 | 307 | 308;
	/** Where to: a path on the front itself (same origin) or an absolute URL (another origin). */
	to: (path: string) => string;
}

/** A front for `service`: redirects what matches, forwards the rest (paths under `/moved` lose that prefix). */
export async function startFront(service: string, redirects: Redirect[]): Promise<Server> {
	return await listen(async (req, body, res) => {
		const path = req.url ?? '/';
		const redirect = redirects.find((r) => r.match.test(path));
		if (redirect) {
			res.writeHead(redirect.status, { location: redirect.to(path), 'content-type': 'text/plain' });
			res.end('moved');
			return;
		}
		const headers: Record<string, string> = {};
		for (const [name, value] of Object.entries(req.headers))
			if (typeof value === 'string' && name !== 'host' && name !== 'content-length')
				headers[name] = value;
		const forwarded = await fetch(`${service}${path.replace(/^\/moved/, '')}`, {
			method: req.method,
			headers,
			body: ['GET', 'HEAD'].includes(req.method ?? 'GET') ? undefined : body,
			redirect: 'manual',
		});
		const answer = Buffer.from(await forwarded.arrayBuffer());
		const out: Record<string, string> = {};
		forwarded.headers.forEach((value, name) => {
			if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(name))
				out[name] = value;
		});
		res.writeHead(forwarded.status, out);
		res.end(answer);
	});
}
