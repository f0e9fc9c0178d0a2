import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
	FAKE_OAUTH_CLIENT,
	FAKE_TEAM_TOKEN,
	FAKE_TEAM_TOKEN_INACTIVE,
	FAKE_TEAM_TOKEN_NO_ORDERS,
	FAKE_TEAM_TOKEN_OTHER_EVENT,
	FAKE_TEAM_TOKEN_SAMPLEEVENTS,
	readFixture,
	startFakePretix,
	type FakePretix,
	type StartedFakePretix,
} from './index';

type Fake = StartedFakePretix & FakePretix;
type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let fake: Fake;
const ORDERS = '/api/v1/organizers/exampleorg/events/summit26/orders/';

async function get(path: string, auth: string | null = `Token ${FAKE_TEAM_TOKEN}`, init: RequestInit = {}) {
	const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
	if (auth) headers.Authorization = auth;
	const response = await fetch(path.startsWith('http') ? path : `${fake.url}${path}`, { ...init, headers, redirect: 'manual' });
	const text = await response.text();
	let body: Body | string = text;
	try {
		body = JSON.parse(text);
	} catch {
		// not JSON
	}
	return { status: response.status, headers: response.headers, body: body as Body, text };
}

function basic(id = FAKE_OAUTH_CLIENT.clientId, secret = FAKE_OAUTH_CLIENT.clientSecret) {
	return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

async function token(form: Record<string, string>, auth = basic()) {
	return get('/api/v1/oauth/token', auth, { method: 'POST', body: new URLSearchParams(form).toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
}

beforeEach(async () => {
	fake = await startFakePretix();
});
afterEach(async () => {
	await fake.stop();
});

describe('organizers and events', () => {
	test('lists organizers visible to a team token, with public_url of the instance and custom domains', async () => {
		const r = await get('/api/v1/organizers/');
		expect(r.status).toBe(200);
		expect(r.body).toEqual({ count: 1, next: null, previous: null, results: [{ name: 'Example Org e.V.', slug: 'exampleorg', public_url: `${fake.url}/exampleorg/` }] });
		const oauth = fake.issueOAuthToken();
		const all = await get('/api/v1/organizers/', `Bearer ${oauth.access_token}`);
		expect(all.body.results.map((o: Body) => o.public_url)).toEqual([`${fake.url}/exampleorg/`, 'https://tickets.example.net/']);
	});

	test('event list omits valid_keys, detail has it; fixture fields are served unchanged apart from the host', async () => {
		const list = await get('/api/v1/organizers/exampleorg/events/');
		expect(list.body.results.map((e: Body) => e.slug)).toEqual(['meetups26', 'summit26']);
		expect(list.body.results.every((e: Body) => !('valid_keys' in e))).toBe(true);
		const detail = await get('/api/v1/organizers/exampleorg/events/summit26/');
		const fixture = readFixture<Body>('event.json');
		expect(detail.body).toEqual({ ...fixture, public_url: `${fake.url}/exampleorg/summit26/` });
	});

	test('a missing organizer or event is 403 like a missing permission; missing slash redirects', async () => {
		expect((await get('/api/v1/organizers/nope/events/')).status).toBe(403);
		const missing = await get('/api/v1/organizers/exampleorg/events/nope/');
		expect(missing.status).toBe(403);
		expect(missing.body).toEqual({ detail: 'You do not have permission to perform this action.' });
		expect((await get('/api/v1/organizers/exampleorg/events/summit26/', `Token ${FAKE_TEAM_TOKEN_OTHER_EVENT}`)).status).toBe(403);
		expect((await get('/api/v1/organizers/exampleorg/events/meetups26/', `Token ${FAKE_TEAM_TOKEN_OTHER_EVENT}`)).status).toBe(200);
		expect((await get('/api/v1/organizers/exampleorg/', `Token ${FAKE_TEAM_TOKEN_SAMPLEEVENTS}`)).status).toBe(403);
		const noSlash = await get('/api/v1/organizers/exampleorg/events');
		expect(noSlash.status).toBe(301);
		expect(noSlash.headers.get('location')).toBe('/api/v1/organizers/exampleorg/events/');
	});

	test('questions filter by identifier (exact)', async () => {
		const r = await get('/api/v1/organizers/exampleorg/events/summit26/questions/?identifier=matrix');
		expect(r.body.count).toBe(1);
		expect(r.body.results[0].id).toBe(101);
	});
});

describe('authentication errors', () => {
	test('no credentials → 401 not authenticated with WWW-Authenticate: Token', async () => {
		const r = await get(ORDERS, null);
		expect(r.status).toBe(401);
		expect(r.headers.get('www-authenticate')).toBe('Token');
		expect(r.body).toEqual(readFixture('errors/401-not-authenticated.json'));
	});

	test('unknown and inactive team tokens', async () => {
		const unknown = await get(ORDERS, 'Token nope');
		expect(unknown.status).toBe(401);
		expect(unknown.body).toEqual(readFixture('errors/401-invalid-token.json'));
		const inactive = await get(ORDERS, `Token ${FAKE_TEAM_TOKEN_INACTIVE}`);
		expect(inactive.status).toBe(401);
		expect(inactive.body).toEqual({ detail: 'Token inactive or deleted.' });
	});

	test('team without order permission → 403 on orders, 200 on events', async () => {
		expect((await get(ORDERS, `Token ${FAKE_TEAM_TOKEN_NO_ORDERS}`)).status).toBe(403);
		expect((await get('/api/v1/organizers/exampleorg/events/summit26/', `Token ${FAKE_TEAM_TOKEN_NO_ORDERS}`)).status).toBe(200);
	});

	test('expired or unknown bearer token → 401 not authenticated', async () => {
		const t = fake.issueOAuthToken();
		expect((await get(ORDERS, `Bearer ${t.access_token}`)).status).toBe(200);
		fake.expireAccessToken(t.access_token);
		const r = await get(ORDERS, `Bearer ${t.access_token}`);
		expect(r.status).toBe(401);
		expect(r.body).toEqual({ detail: 'Authentication credentials were not provided.' });
	});

	test('OAuth token bound to other organizers or lacking scope → 403', async () => {
		const other = fake.issueOAuthToken({ organizers: ['sampleevents'] });
		expect((await get(ORDERS, `Bearer ${other.access_token}`)).status).toBe(403);
		const profile = fake.issueOAuthToken({ scope: 'profile' });
		expect((await get(ORDERS, `Bearer ${profile.access_token}`)).status).toBe(403);
		const readOnly = fake.issueOAuthToken({ scope: 'read' });
		const post = await get('/api/v1/organizers/exampleorg/webhooks/', `Bearer ${readOnly.access_token}`, { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
		expect(post.status).toBe(403);
	});

	test('/api/v1/me: bearer only; team tokens get 403', async () => {
		const t = fake.issueOAuthToken();
		const me = await get('/api/v1/me', `Bearer ${t.access_token}`);
		expect(me.status).toBe(200);
		expect(me.body).toEqual(readFixture('oauth/me.json'));
		expect((await get('/api/v1/me')).status).toBe(403);
	});
});

describe('orders', () => {
	test('default page size 50 returns all 15 fixture orders in datetime order, hiding canceled positions', async () => {
		const r = await get(ORDERS);
		expect(r.status).toBe(200);
		expect(r.body.count).toBe(15);
		expect(r.body.next).toBeNull();
		const p1 = readFixture<Body>('orders-page-1.json');
		const p2 = readFixture<Body>('orders-page-2.json');
		expect(r.body.results.map((o: Body) => o.code)).toEqual([...p1.results, ...p2.results].map((o: Body) => o.code));
		const d9 = r.body.results.find((o: Body) => o.code === 'D9HLM');
		expect(d9.positions.map((p: Body) => p.id)).toEqual([5004]);
		expect(r.headers.get('x-page-generated')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
	});

	test('page_size=8 with include_canceled_positions reproduces the fixture pages and DRF links', async () => {
		const p1 = await get(`${ORDERS}?include_canceled_positions=true&page_size=8`);
		const fixture1 = readFixture<Body>('orders-page-1.json');
		expect(p1.body.next).toBe(`${fake.url}${ORDERS}?include_canceled_positions=true&page=2&page_size=8`);
		expect(p1.body.previous).toBeNull();
		expect(JSON.parse(JSON.stringify(p1.body.results).split(fake.url).join('https://pretix.eu'))).toEqual(fixture1.results);
		const p2 = await get(p1.body.next);
		const fixture2 = readFixture<Body>('orders-page-2.json');
		expect(p2.body.next).toBeNull();
		expect(p2.body.previous).toBe(`${fake.url}${ORDERS}?include_canceled_positions=true&page_size=8`);
		expect(JSON.parse(JSON.stringify(p2.body.results).split(fake.url).join('https://pretix.eu'))).toEqual(fixture2.results);
	});

	test('page_size is capped at 50; pages past the end are 404 Invalid page', async () => {
		fake.generateOrders({ count: 120, seed: 7 });
		const r = await get(`${ORDERS}?page_size=500`);
		expect(r.body.results).toHaveLength(50);
		expect(r.body.count).toBe(135);
		expect(r.body.next).toBe(`${fake.url}${ORDERS}?page=2&page_size=500`);
		const beyond = await get(`${ORDERS}?page=4`);
		expect(beyond.status).toBe(404);
		expect(beyond.body).toEqual({ detail: 'Invalid page.' });
	});

	test('modified_since is inclusive, validated, and links keep it encoded', async () => {
		const since = '2026-05-29T15:45:20.330176Z'; // P3HJK's last_modified
		const r = await get(`${ORDERS}?modified_since=${encodeURIComponent(since)}`);
		expect(r.body.results.map((o: Body) => o.code).sort()).toEqual(['J9QRS', 'P3HJK', 'Q9LTR']);
		const plus = await get(`${ORDERS}?modified_since=2026-05-29T15:45:20.330176+00:00`); // unencoded + → space
		expect(plus.status).toBe(400);
		expect(plus.body).toEqual({ modified_since: ['Enter a valid date/time.'] });
		const encoded = await get(`${ORDERS}?modified_since=${encodeURIComponent('2026-05-29T15:45:20.330176+00:00')}`);
		expect(encoded.body.count).toBe(3);
		fake.generateOrders({ count: 60, seed: 3, startAt: '2026-07-01T00:00:00Z' });
		const paged = await get(`${ORDERS}?modified_since=${encodeURIComponent(since)}`);
		expect(paged.body.next).toBe(`${fake.url}${ORDERS}?modified_since=2026-05-29T15%3A45%3A20.330176Z&page=2`);
	});

	test('X-Page-Generated is taken before the query: a re-run from it sees exactly the later changes', async () => {
		const first = await get(ORDERS);
		const generated = first.headers.get('x-page-generated')!;
		const empty = await get(`${ORDERS}?modified_since=${encodeURIComponent(generated)}`);
		expect(empty.body.count).toBe(0);
		fake.setAnswer('ABC3K', 5001, '@alice2:example.org');
		const changed = await get(`${ORDERS}?modified_since=${encodeURIComponent(generated)}`);
		expect(changed.body.results.map((o: Body) => o.code)).toEqual(['ABC3K']);
		expect(changed.body.results[0].positions[0].answers[0]).toEqual({ question: 101, answer: '@alice2:example.org', question_identifier: 'matrix', options: [], option_identifiers: [] });
	});

	test('status, testmode, item and code filters', async () => {
		expect((await get(`${ORDERS}?status=P`)).body.count).toBe(12);
		expect((await get(`${ORDERS}?status=n`)).body.results.map((o: Body) => o.code)).toEqual(['B7NQX']);
		const generated = fake.generateOrders({ count: 10, seed: 5, testmodeFraction: 1 });
		expect(generated.orders.every((o) => o.code[1] === '0')).toBe(true);
		expect((await get(`${ORDERS}?testmode=false`)).body.count).toBe(15);
		expect((await get(`${ORDERS}?testmode=true`)).body.count).toBe(10);
		expect((await get(`${ORDERS}?item=203`)).body.results.map((o: Body) => o.code)).toEqual(['E3PZV']);
		expect((await get(`${ORDERS}?code=abc3k`)).body.count).toBe(1);
	});

	test('order detail and 404 for an unknown code', async () => {
		const r = await get(`${ORDERS}ABC3K/`);
		expect(JSON.parse(JSON.stringify(r.body).split(fake.url).join('https://pretix.eu'))).toEqual(readFixture('order-detail-ABC3K.json'));
		const d9 = await get(`${ORDERS}D9HLM/?include_canceled_positions=true`);
		expect(d9.body.positions).toHaveLength(2);
		const missing = await get(`${ORDERS}T0STA/`);
		expect(missing.status).toBe(404);
		expect(missing.body).toEqual({ detail: 'Not found.' });
	});

	test('organizer-level orders list covers the visible events', async () => {
		const r = await get('/api/v1/organizers/exampleorg/orders/');
		expect(r.body.count).toBe(15);
		expect(r.headers.get('x-page-generated')).toBeTruthy();
	});

	test('method not allowed', async () => {
		const r = await get(ORDERS, `Token ${FAKE_TEAM_TOKEN}`, { method: 'DELETE' });
		expect(r.status).toBe(405);
		expect(r.body).toEqual({ detail: 'Method "DELETE" not allowed.' });
	});
});

describe('generator', () => {
	test('deterministic for a seed, with the chosen mix', async () => {
		const a = fake.generateOrders({ count: 200, seed: 11, mix: { valid: 6, malformed: 3, missing: 1 }, positionsPerOrder: [1, 3] });
		const other = await startFakePretix();
		try {
			const b = other.generateOrders({ count: 200, seed: 11, mix: { valid: 6, malformed: 3, missing: 1 }, positionsPerOrder: [1, 3] });
			expect(b.attendees.map((x) => [x.code, x.kind, x.answer])).toEqual(a.attendees.map((x) => [x.code, x.kind, x.answer]));
		} finally {
			await other.stop();
		}
		const kinds = new Set(a.attendees.map((x) => x.kind));
		expect(kinds).toEqual(new Set(['valid', 'malformed', 'missing']));
		for (const attendee of a.attendees.filter((x) => x.kind === 'missing')) expect(attendee.answer).toBeUndefined();
		for (const attendee of a.attendees.filter((x) => x.kind === 'valid')) expect(attendee.answer).toMatch(/^@user\d+:example\.org$/);
		expect(new Set(a.orders.map((o) => o.code)).size).toBe(200);
	});
});

describe('OAuth2', () => {
	async function authorize(params: Record<string, string>) {
		const r = await get(`/api/v1/oauth/authorize?${new URLSearchParams(params)}`, null);
		return { ...r, location: r.headers.get('location') ? new URL(r.headers.get('location')!) : undefined };
	}
	const redirect_uri = FAKE_OAUTH_CLIENT.redirectUris[0];

	test('authorization code flow: redirect with code and state, Basic client auth, 24 h token', async () => {
		const a = await authorize({ client_id: FAKE_OAUTH_CLIENT.clientId, response_type: 'code', scope: 'read write', redirect_uri, state: 'xyz' });
		expect(a.status).toBe(302);
		expect(a.location!.origin + a.location!.pathname).toBe(redirect_uri);
		expect(a.location!.searchParams.get('state')).toBe('xyz');
		const code = a.location!.searchParams.get('code')!;
		const t = await token({ grant_type: 'authorization_code', code, redirect_uri });
		expect(t.status).toBe(200);
		expect(t.headers.get('cache-control')).toBe('no-store');
		expect(Object.keys(t.body).sort()).toEqual(Object.keys(readFixture<Body>('oauth/token-response.json')).sort());
		expect(t.body).toMatchObject({ expires_in: 86400, token_type: 'Bearer', scope: 'read write' });
		expect((await get(ORDERS, `Bearer ${t.body.access_token}`)).status).toBe(200);
		// codes are single-use
		const again = await token({ grant_type: 'authorization_code', code, redirect_uri });
		expect(again.status).toBe(400);
		expect(again.body).toEqual(readFixture('oauth/token-error-invalid-grant.json'));
	});

	test('authorize errors: bad client/redirect shown, denial and bad scope redirected', async () => {
		expect((await authorize({ client_id: 'nope', response_type: 'code', redirect_uri })).status).toBe(400);
		expect((await authorize({ client_id: FAKE_OAUTH_CLIENT.clientId, response_type: 'code', redirect_uri: 'https://evil.example.org/cb' })).status).toBe(400);
		const scope = await authorize({ client_id: FAKE_OAUTH_CLIENT.clientId, response_type: 'code', scope: 'admin', redirect_uri, state: 's' });
		expect(scope.location!.searchParams.get('error')).toBe('invalid_scope');
		fake.consent = { approve: false };
		const denied = await authorize({ client_id: FAKE_OAUTH_CLIENT.clientId, response_type: 'code', scope: 'read', redirect_uri, state: 's' });
		expect(denied.location!.searchParams.get('error')).toBe('access_denied');
		expect(denied.location!.searchParams.get('state')).toBe('s');
	});

	test('refresh returns a new access token and the SAME refresh token; the old access token dies', async () => {
		const t = fake.issueOAuthToken({ scope: 'read' });
		const r = await token({ grant_type: 'refresh_token', refresh_token: t.refresh_token });
		expect(r.status).toBe(200);
		expect(r.body.refresh_token).toBe(t.refresh_token);
		expect(r.body.access_token).not.toBe(t.access_token);
		expect((await get(ORDERS, `Bearer ${t.access_token}`)).status).toBe(401);
		expect((await get(ORDERS, `Bearer ${r.body.access_token}`)).status).toBe(200);
		// refresh tokens are reusable (not rotated)
		expect((await token({ grant_type: 'refresh_token', refresh_token: t.refresh_token })).status).toBe(200);
	});

	test('client authentication: wrong secret → 401 invalid_client; body credentials accepted', async () => {
		const t = fake.issueOAuthToken();
		const wrong = await token({ grant_type: 'refresh_token', refresh_token: t.refresh_token }, basic(FAKE_OAUTH_CLIENT.clientId, 'wrong'));
		expect(wrong.status).toBe(401);
		expect(wrong.body).toEqual(readFixture('oauth/token-error-invalid-client.json'));
		const inBody = await token({ grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: FAKE_OAUTH_CLIENT.clientId, client_secret: FAKE_OAUTH_CLIENT.clientSecret }, '');
		expect(inBody.status).toBe(200);
		const badGrant = await token({ grant_type: 'refresh_token', refresh_token: 'nope' });
		expect(badGrant.status).toBe(400);
		expect(badGrant.body).toEqual({ error: 'invalid_grant' });
	});

	test('revoke: refresh token revocation kills its access token; revoking access keeps refresh usable', async () => {
		const a = fake.issueOAuthToken();
		const revokeAccess = await get('/api/v1/oauth/revoke_token', basic(), { method: 'POST', body: `token=${a.access_token}`, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
		expect(revokeAccess.status).toBe(200);
		expect(revokeAccess.text).toBe('');
		expect((await get(ORDERS, `Bearer ${a.access_token}`)).status).toBe(401);
		const refreshed = await token({ grant_type: 'refresh_token', refresh_token: a.refresh_token });
		expect(refreshed.status).toBe(200);
		await get('/api/v1/oauth/revoke_token', basic(), { method: 'POST', body: `token=${a.refresh_token}`, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
		expect((await get(ORDERS, `Bearer ${refreshed.body.access_token}`)).status).toBe(401);
		expect((await token({ grant_type: 'refresh_token', refresh_token: a.refresh_token })).status).toBe(400);
	});
});

describe('faults and request log', () => {
	test('scripted 429 storm with Retry-After, then normal answers; every request is counted', async () => {
		fake.storm429(2, 3);
		const first = await get(ORDERS);
		expect(first.status).toBe(429);
		expect(first.headers.get('retry-after')).toBe('3');
		expect(first.body.detail).toBe('Request was throttled. Expected available in 3 seconds.');
		expect((await get(ORDERS)).status).toBe(429);
		expect((await get(ORDERS)).status).toBe(200);
		expect(fake.requestCount({ path: '/orders/' })).toBe(3);
		expect(fake.requests.map((r) => r.status)).toEqual([429, 429, 200]);
	});

	test('409 lock carries Retry-After: 5 and the fixture body; 5xx and garbage bodies', async () => {
		fake.injectFaults({ status: 409 }, { status: 503 }, { kind: 'garbage' }, { kind: 'truncated' });
		const lock = await get(ORDERS);
		expect(lock.status).toBe(409);
		expect(lock.headers.get('retry-after')).toBe('5');
		expect(lock.body).toEqual(readFixture('errors/409-lock-timeout.json'));
		expect((await get(ORDERS)).status).toBe(503);
		const garbage = await get(ORDERS);
		expect(garbage.status).toBe(200);
		expect(typeof garbage.body).toBe('string');
		const truncated = await get(ORDERS);
		expect(() => JSON.parse(truncated.text)).toThrow();
	});

	test('faults can target one path only; random faults are reproducible with a seed', async () => {
		fake.injectFaults({ status: 500, match: '/questions/' });
		expect((await get(ORDERS)).status).toBe(200);
		expect((await get('/api/v1/organizers/exampleorg/events/summit26/questions/')).status).toBe(500);
		const statuses = async (f: Fake) => {
			const out: number[] = [];
			for (let i = 0; i < 20; i++) out.push((await fetch(`${f.url}${ORDERS}`, { headers: { Authorization: `Token ${FAKE_TEAM_TOKEN}` } })).status);
			return out;
		};
		const a = await startFakePretix({ faults: { rate5xx: 0.3, rate429: 0.2, seed: 9 } });
		const b = await startFakePretix({ faults: { rate5xx: 0.3, rate429: 0.2, seed: 9 } });
		try {
			const sa = await statuses(a);
			expect(sa).toEqual(await statuses(b));
			expect(sa.some((s) => s >= 500)).toBe(true);
			expect(sa.some((s) => s === 429)).toBe(true);
			expect(sa.some((s) => s === 200)).toBe(true);
		} finally {
			await a.stop();
			await b.stop();
		}
	});

	test('pretix.eu-like rate limit per organizer', async () => {
		fake.rateLimit = { perMinute: 3 };
		for (let i = 0; i < 3; i++) expect((await get(ORDERS)).status).toBe(200);
		const limited = await get(ORDERS);
		expect(limited.status).toBe(429);
		expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
	});
});

describe('webhook API and sender', () => {
	let receiver: http.Server;
	let receiverUrl: string;
	let received: Array<{ headers: http.IncomingHttpHeaders; body: string; url: string }>;
	let answers: number[];

	beforeEach(async () => {
		received = [];
		answers = [];
		receiver = http.createServer((req, res) => {
			const chunks: Buffer[] = [];
			req.on('data', (c) => chunks.push(c));
			req.on('end', () => {
				received.push({ headers: req.headers, body: Buffer.concat(chunks).toString(), url: req.url ?? '' });
				res.writeHead(answers.shift() ?? 200);
				res.end('ok');
			});
		});
		await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
		receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
	});
	afterEach(async () => {
		receiver.closeAllConnections();
		await new Promise((resolve) => receiver.close(resolve));
	});

	test('create via API, validation errors, delete only disables', async () => {
		const bad = await get('/api/v1/organizers/exampleorg/webhooks/', `Token ${FAKE_TEAM_TOKEN}`, { method: 'POST', body: JSON.stringify({ target_url: 'nope', action_types: ['pretix.event.order.bogus'] }), headers: { 'Content-Type': 'application/json' } });
		expect(bad.status).toBe(400);
		expect(Object.keys(bad.body).sort()).toEqual(['action_types', 'target_url']);
		const created = await get('/api/v1/organizers/exampleorg/webhooks/', `Token ${FAKE_TEAM_TOKEN}`, { method: 'POST', body: JSON.stringify({ target_url: `${receiverUrl}/hook`, action_types: ['pretix.event.order.changed.*'], all_events: false, limit_events: ['summit26'] }), headers: { 'Content-Type': 'application/json' } });
		expect(created.status).toBe(201);
		expect(created.body).toMatchObject({ enabled: true, target_url: `${receiverUrl}/hook`, all_events: false, limit_events: ['summit26'] });
		expect((await get('/api/v1/organizers/exampleorg/webhooks/', `Token ${FAKE_TEAM_TOKEN_NO_ORDERS}`)).status).toBe(403);
		const list = await get('/api/v1/organizers/exampleorg/webhooks/');
		expect(list.body.results.map((h: Body) => h.id)).toContain(created.body.id);
		const del = await get(`/api/v1/organizers/exampleorg/webhooks/${created.body.id}/`, `Token ${FAKE_TEAM_TOKEN}`, { method: 'DELETE' });
		expect(del.status).toBe(204);
		expect((await get(`/api/v1/organizers/exampleorg/webhooks/${created.body.id}/`)).body.enabled).toBe(false);
	});

	test('notify delivers the concrete action to wildcard subscribers, as python-requests JSON with Basic auth from the URL', async () => {
		fake.addWebhook({ target_url: `http://bridge:s3cr%40t@${receiverUrl.slice(7)}/hooks/x`, action_types: ['pretix.event.order.changed.*'], all_events: false, limit_events: ['summit26'] });
		const { notificationId, deliveries } = fake.notify('pretix.event.order.changed.cancel', { event: 'summit26', code: 'D9HLM' });
		expect(deliveries).toHaveLength(1);
		expect(await deliveries[0].done).toBe('delivered');
		expect(received).toHaveLength(1);
		expect(received[0].url).toBe('/hooks/x');
		expect(received[0].body).toBe(`{"notification_id": ${notificationId}, "organizer": "exampleorg", "event": "summit26", "code": "D9HLM", "action": "pretix.event.order.changed.cancel"}`);
		expect(received[0].headers['content-type']).toBe('application/json');
		expect(received[0].headers['user-agent']).toMatch(/^python-requests\//);
		expect(received[0].headers.authorization).toBe(`Basic ${Buffer.from('bridge:s3cr@t').toString('base64')}`);
		// not subscribed / other event → nothing
		expect(fake.notify('pretix.event.order.placed', { event: 'summit26', code: 'B7NQX' }).deliveries).toHaveLength(0);
		expect(fake.notify('pretix.event.order.changed.item', { event: 'meetups26', code: 'B7NQX' }).deliveries).toHaveLength(0);
	});

	test('retries on non-2xx (incl. 3xx) with the compressed schedule and stops on 2xx', async () => {
		const compressed = await startFakePretix({ webhooks: { timeFactor: 1000 } });
		try {
			answers = [500, 302, 404];
			const start = Date.now();
			const d = compressed.deliver(`${receiverUrl}/h`, { notification_id: 1, organizer: 'exampleorg', event: 'summit26', code: 'ABC3K', action: 'pretix.event.order.paid' });
			expect(await d.done).toBe('delivered');
			expect(d.attempts.map((a) => a.status)).toEqual([500, 302, 404, 200]);
			// 5 s + 30 s + 60 s compressed by 1000 → ≥ 95 ms
			expect(Date.now() - start).toBeGreaterThanOrEqual(90);
			const gaps = d.attempts.slice(1).map((a, i) => a.at - d.attempts[i].at);
			expect(gaps[1]).toBeGreaterThanOrEqual(gaps[0]);
		} finally {
			await compressed.stop();
		}
	});

	test('410 disables the webhook forever; connection errors are retried until giving up', async () => {
		const compressed = await startFakePretix({ webhooks: { timeFactor: 100000 } });
		try {
			const hook = compressed.addWebhook({ target_url: `${receiverUrl}/gone`, action_types: ['pretix.event.order.paid'] });
			answers = [410];
			const { deliveries } = compressed.notify('pretix.event.order.paid', { event: 'summit26', code: 'ABC3K' });
			expect(await deliveries[0].done).toBe('disabled');
			expect(hook.enabled).toBe(false);
			expect(compressed.notify('pretix.event.order.paid', { event: 'summit26', code: 'ABC3K' }).deliveries).toHaveLength(0);
			const dead = compressed.deliver('http://127.0.0.1:1/nothing', { notification_id: 2 });
			expect(await dead.done).toBe('gave-up');
			expect(dead.attempts).toHaveLength(12);
			expect(dead.attempts.every((a) => a.error !== undefined)).toBe(true);
		} finally {
			await compressed.stop();
		}
	}, 20000);
});
