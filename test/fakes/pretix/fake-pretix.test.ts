import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
	FAKE_OAUTH_CLIENT,
	FAKE_OAUTH_LOCAL_REDIRECT_URI,
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

describe('canceled positions and fees (src/pretix/api/views/order.py OrderViewSetMixin._positions_prefetch / get_queryset)', () => {
	// src/tests/api/test_orders.py test_order_list and test_order_detail: a canceled position is in
	// `positions` only with include_canceled_positions=true, in the list and in the detail alike.
	test('list and detail omit canceled positions unless include_canceled_positions=true', async () => {
		const list = await get(`${ORDERS}?code=D9HLM`);
		expect(list.body.results[0].positions.map((p: Body) => p.id)).toEqual([5004]);
		const listAll = await get(`${ORDERS}?code=D9HLM&include_canceled_positions=true`);
		expect(listAll.body.results[0].positions.map((p: Body) => [p.id, p.canceled])).toEqual([
			[5004, false],
			[5005, true],
		]);
		expect((await get(`${ORDERS}D9HLM/`)).body.positions.map((p: Body) => p.id)).toEqual([5004]);
		expect((await get(`${ORDERS}D9HLM/?include_canceled_positions=TRUE`)).body.positions).toHaveLength(2);
		// Anything but "true" (case-insensitive) leaves them out.
		expect((await get(`${ORDERS}D9HLM/?include_canceled_positions=1`)).body.positions).toHaveLength(1);
	});

	// OrderChangeManager.cancel cancels the add-ons of a canceled position with it.
	test('cancelPosition cancels the position and its add-ons; both vanish from the default answer', async () => {
		const before = fake.findOrder('E3PZV')!.last_modified;
		fake.cancelPosition('E3PZV', 5006);
		const order = fake.findOrder('E3PZV')!;
		expect(order.last_modified).not.toBe(before);
		expect(order.status).toBe('p');
		expect((await get(`${ORDERS}E3PZV/`)).body.positions.map((p: Body) => p.id)).toEqual([5007, 5008]);
		const all = await get(`${ORDERS}E3PZV/?include_canceled_positions=true`);
		expect(all.body.positions.filter((p: Body) => p.canceled).map((p: Body) => p.id)).toEqual([5006, 5009]);
	});

	// A fully canceled order keeps its positions un-canceled (only status tells).
	test('cancelOrder: status c, cancellation_date set, positions still listed with canceled: false', async () => {
		fake.cancelOrder('ABC3K');
		const r = await get(`${ORDERS}ABC3K/`);
		expect(r.body.status).toBe('c');
		expect(r.body.cancellation_date).toMatch(/Z$/);
		expect(r.body.positions.map((p: Body) => p.canceled)).toEqual([false]);
	});
});

describe('cancel with a fee (src/pretix/base/services/orders.py _cancel_order with cancellation_fee)', () => {
	test('a fixture-like paid order canceled with a fee: status p, every position canceled, only the fee left', async () => {
		const copy = fake.copyOrder({ email: 'feecopy@example.org' }, 'E3PZV');
		expect(copy.code).not.toBe('E3PZV');
		expect(new Set(copy.positions.map((p: Body) => p.id)).size).toBe(4);
		expect(copy.positions.find((p: Body) => p.addon_to !== null).addon_to).toBe(copy.positions[0].id);
		fake.cancelWithFee(copy.code, '15.00');
		const plain = await get(`${ORDERS}${copy.code}/`);
		expect(plain.body).toMatchObject({ status: 'p', total: '15.00' });
		expect(plain.body.cancellation_date).toMatch(/Z$/);
		expect(plain.body.positions).toEqual([]);
		expect(plain.body.fees).toEqual([expect.objectContaining({ fee_type: 'cancellation', value: '15.00', canceled: false })]);
		const full = await get(`${ORDERS}${copy.code}/?include_canceled_positions=true`);
		expect(full.body.positions.map((p: Body) => p.canceled)).toEqual([true, true, true, true]);
		// The list answers the same, and status=p still matches it.
		const listed = await get(`${ORDERS}?status=p&code=${copy.code}`);
		expect(listed.body.results[0].positions).toEqual([]);
	});

	test('canceled fees only with include_canceled_fees=true; an unpaid order canceled with a fee stays pending', async () => {
		fake.updateOrder('B7NQX', (o) => void (o.fees = [{ id: 1, fee_type: 'payment', value: '1.00', canceled: false }]));
		fake.cancelWithFee('B7NQX');
		const r = await get(`${ORDERS}B7NQX/`);
		expect(r.body.status).toBe('n');
		expect(r.body.fees.map((f: Body) => f.fee_type)).toEqual(['cancellation']);
		const all = await get(`${ORDERS}B7NQX/?include_canceled_fees=true`);
		expect(all.body.fees.map((f: Body) => [f.fee_type, f.canceled])).toEqual([
			['payment', true],
			['cancellation', false],
		]);
	});
});

describe('approval, valid_if_pending, blocked, validity (Order/OrderPosition fields; approve_order, deny_order)', () => {
	test('pending approval is n + require_approval; the require_approval filter (OrderFilter Meta.fields) finds it', async () => {
		fake.requireApproval('ABC3K');
		const r = await get(`${ORDERS}ABC3K/`);
		expect(r.body).toMatchObject({ status: 'n', require_approval: true });
		expect((await get(`${ORDERS}?require_approval=true`)).body.results.map((o: Body) => o.code)).toEqual(['ABC3K']);
		expect((await get(`${ORDERS}?require_approval=false`)).body.count).toBe(14);
	});

	test('deny_order: c with require_approval still true; approve_order of a free order makes it paid', async () => {
		fake.requireApproval('ABC3K');
		fake.denyOrder('ABC3K');
		expect((await get(`${ORDERS}ABC3K/`)).body).toMatchObject({ status: 'c', require_approval: true });
		expect(() => fake.denyOrder('ABC3K')).toThrow(/not pending approval/);
		fake.requireApproval('N7VWZ'); // total 0.00
		fake.approveOrder('N7VWZ');
		expect((await get(`${ORDERS}N7VWZ/`)).body).toMatchObject({ status: 'p', require_approval: false });
	});

	test('valid_if_pending, blocked and the validity window are served as set, and each change bumps last_modified', async () => {
		const t0 = fake.findOrder('B7NQX')!.last_modified;
		fake.clock.advance(1000);
		fake.setValidIfPending('B7NQX');
		const t1 = fake.findOrder('B7NQX')!.last_modified;
		expect(t1 > t0).toBe(true);
		fake.setBlocked('ABC3K', 5001, ['admin']);
		fake.setValidity('E3PZV', 5007, { validFrom: '2026-09-18T00:00:00Z', validUntil: '2026-09-18T23:59:59Z' });
		expect((await get(`${ORDERS}B7NQX/`)).body).toMatchObject({ status: 'n', valid_if_pending: true });
		expect((await get(`${ORDERS}ABC3K/`)).body.positions[0].blocked).toEqual(['admin']);
		const e3 = (await get(`${ORDERS}E3PZV/`)).body.positions.find((p: Body) => p.id === 5007);
		expect(e3).toMatchObject({ valid_from: '2026-09-18T00:00:00Z', valid_until: '2026-09-18T23:59:59Z' });
		// An empty reason list is stored as null, like pretix's blocked field.
		fake.setBlocked('ABC3K', 5001, []);
		expect((await get(`${ORDERS}ABC3K/`)).body.positions[0].blocked).toBeNull();
	});
});

describe('test mode (OrderFilter Meta.fields testmode; Order.gracefully_delete)', () => {
	test('testmode filter; only test-mode orders can be deleted', async () => {
		const generated = fake.generateOrders({ count: 4, seed: 8, testmodeFraction: 1 });
		expect(generated.orders.every((o) => o.testmode === true && o.code[1] === '0')).toBe(true);
		expect((await get(`${ORDERS}?testmode=true`)).body.count).toBe(4);
		expect((await get(`${ORDERS}?testmode=False`)).body.count).toBe(15);
		fake.deleteOrder(generated.orders[0].code);
		expect((await get(`${ORDERS}?testmode=true`)).body.count).toBe(3);
		expect(() => fake.deleteOrder('ABC3K')).toThrow(/only test mode orders/);
		expect((await get(ORDERS)).body.count).toBe(18);
	});
});

describe('event series (src/pretix/api/views/event.py SubEventViewSet / SubEventFilter; OrderFilter subevent*)', () => {
	const SUBEVENTS = '/api/v1/organizers/exampleorg/events/meetups26/subevents/';

	test('sub-event list ordered by date_from, detail, 404, and a single event has none', async () => {
		fake.addSubEvent('exampleorg', 'meetups26', { id: 40, date_from: '2025-12-11T17:00:00Z', date_to: '2025-12-11T20:00:00Z', active: false });
		const list = await get(SUBEVENTS);
		expect(list.status).toBe(200);
		expect(list.headers.get('x-page-generated')).toBeTruthy();
		expect(list.body.results.map((s: Body) => s.id)).toEqual([40, 41, 42, 43]);
		const detail = await get(`${SUBEVENTS}43/`);
		// The field set of src/tests/api/test_subevents.py TEST_SUBEVENT_RES (plus last_modified).
		expect(Object.keys(detail.body).sort()).toEqual(
			['active', 'comment', 'date_admission', 'date_from', 'date_to', 'event', 'frontpage_text', 'geo_lat', 'geo_lon', 'id', 'is_public', 'item_price_overrides', 'last_modified', 'location', 'meta_data', 'name', 'presale_end', 'presale_start', 'seat_category_mapping', 'seating_plan', 'variation_price_overrides'].sort(),
		);
		expect(detail.body).toMatchObject({ id: 43, event: 'meetups26', date_to: null });
		expect((await get(`${SUBEVENTS}99/`)).status).toBe(404);
		expect((await get(`${SUBEVENTS}abc/`)).status).toBe(404);
		expect((await get('/api/v1/organizers/exampleorg/events/summit26/subevents/')).body).toEqual({ count: 0, next: null, previous: null, results: [] });
		expect((await get('/api/v1/organizers/exampleorg/subevents/')).body.count).toBe(4);
		expect((await get(`${SUBEVENTS}?ordering=-date_from`)).body.results.map((s: Body) => s.id)).toEqual([43, 42, 41, 40]);
	});

	test('SubEventFilter: active, ends_after (date_to, or date_from without it), is_past / is_future against now', async () => {
		fake.updateSubEvent('exampleorg', 'meetups26', 41, { active: false });
		expect((await get(`${SUBEVENTS}?active=false`)).body.results.map((s: Body) => s.id)).toEqual([41]);
		expect((await get(`${SUBEVENTS}?ends_after=2026-03-19T20:00:00Z`)).body.results.map((s: Body) => s.id)).toEqual([42, 43]);
		expect((await get(`${SUBEVENTS}?ends_after=2026-03-19T20:00:01Z`)).body.results.map((s: Body) => s.id)).toEqual([43]);
		fake.clock.set('2026-04-01T00:00:00Z');
		expect((await get(`${SUBEVENTS}?is_past=true`)).body.results.map((s: Body) => s.id)).toEqual([41, 42]);
		expect((await get(`${SUBEVENTS}?is_future=true`)).body.results.map((s: Body) => s.id)).toEqual([43]);
		expect((await get(`${SUBEVENTS}?ends_after=soon`)).status).toBe(400);
	});

	test('orders of a series: positions carry subevent; the subevent filter matches any position, canceled ones included', async () => {
		fake.addOrder({ ...structuredClone(fake.findOrder('ABC3K')!), code: 'SER1A', event: 'meetups26', positions: [{ ...structuredClone(fake.findOrder('ABC3K')!.positions[0]), id: 7001, subevent: 41 }] }, 'exampleorg', 'meetups26');
		fake.addOrder({ ...structuredClone(fake.findOrder('D9HLM')!), code: 'SER2B', event: 'meetups26', positions: [{ ...fake.findOrder('D9HLM')!.positions[0], id: 7002, subevent: 42 }, { ...fake.findOrder('D9HLM')!.positions[1], id: 7003, subevent: 41, canceled: true }] }, 'exampleorg', 'meetups26');
		const SERIES = '/api/v1/organizers/exampleorg/events/meetups26/orders/';
		expect((await get(`${SERIES}?subevent=41`)).body.results.map((o: Body) => o.code)).toEqual(['SER1A', 'SER2B']);
		expect((await get(`${SERIES}?subevent=42`)).body.results.map((o: Body) => o.code)).toEqual(['SER2B']);
		// subevent_after is exclusive and looks at date_to; subevent_before is exclusive on date_from.
		expect((await get(`${SERIES}?subevent_after=2026-01-15T20:00:00Z`)).body.results.map((o: Body) => o.code)).toEqual(['SER2B']);
		expect((await get(`${SERIES}?subevent_before=2026-01-15T17:00:01Z`)).body.results.map((o: Body) => o.code)).toEqual(['SER1A', 'SER2B']);
		expect((await get(`${SERIES}?subevent_before=2026-01-15T17:00:00Z`)).body.count).toBe(0);
		fake.setSubEvent('SER1A', 7001, 43, 'exampleorg', 'meetups26');
		expect((await get(`${SERIES}?subevent=41`)).body.results.map((o: Body) => o.code)).toEqual(['SER2B']);
	});
});

describe('ordering (OrderViewSetMixin.ordering_fields; pagination.py TotalOrderingFilter → get_deterministic_ordering)', () => {
	const codes = async (query: string) => (await get(`${ORDERS}?${query}`)).body.results.map((o: Body) => o.code as string);

	test('default datetime; code, status, last_modified, -prefixed and comma lists; invalid terms ignored', async () => {
		const byDatetime = await codes('');
		expect(byDatetime[0]).toBe('ABC3K');
		expect(byDatetime.at(-1)).toBe('Q9LTR');
		expect(await codes('ordering=code')).toEqual([...byDatetime].sort());
		expect(await codes('ordering=-code')).toEqual([...byDatetime].sort().reverse());
		expect((await codes('ordering=status,code')).slice(0, 3)).toEqual(['C8RTW', 'Q9LTR', 'B7NQX']);
		expect((await codes('ordering=-last_modified')).slice(0, 2)).toEqual(['Q9LTR', 'J9QRS']);
		// remove_invalid_fields drops unknown terms; with none left the default applies.
		expect(await codes('ordering=email')).toEqual(byDatetime);
		expect(await codes('ordering=pk')).toEqual(byDatetime);
		expect(await codes('ordering=bogus,-code')).toEqual([...byDatetime].sort().reverse());
	});

	test('ties end with -pk: two orders placed in the same microsecond come newest-created first', async () => {
		const at = fake.findOrder('ABC3K')!.datetime;
		const first = fake.copyOrder({ datetime: at, code: 'TIE1A' });
		const second = fake.copyOrder({ datetime: at, code: 'TIE2B' });
		expect([first.code, second.code]).toEqual(['TIE1A', 'TIE2B']);
		expect((await codes('')).slice(0, 3)).toEqual(['TIE2B', 'TIE1A', 'ABC3K']);
		expect((await codes('ordering=-datetime')).slice(-3)).toEqual(['TIE2B', 'TIE1A', 'ABC3K']);
	});

	test('cancellation_date orders NULLs last ascending and first descending (PostgreSQL)', async () => {
		expect((await codes('ordering=cancellation_date'))[0]).toBe('C8RTW');
		expect((await codes('ordering=-cancellation_date')).at(-1)).toBe('C8RTW');
	});

	test('created_since is inclusive, created_before exclusive (OrderFilter on datetime)', async () => {
		const at = fake.findOrder('E3PZV')!.datetime;
		expect((await codes(`created_since=${encodeURIComponent(at)}`))[0]).toBe('E3PZV');
		expect((await codes(`created_before=${encodeURIComponent(at)}`)).at(-1)).toBe('D9HLM');
		expect((await get(`${ORDERS}?created_before=yesterday`)).status).toBe(400);
	});
});

describe('page-number paging over the live query (DRF PageNumberPagination: each page re-runs the query)', () => {
	test('an order leaving the status filter between page 1 and page 2 shifts page 2: one order is never served', async () => {
		fake.generateOrders({ count: 20, seed: 4 });
		const paid = (await get(`${ORDERS}?status=p&page_size=10`)).body;
		const expected = [...paid.results.map((o: Body) => o.code), ...(await get(paid.next)).body.results.map((o: Body) => o.code)];
		// Now the same two requests with a cancellation in between, as a client would see it.
		let canceled = '';
		fake.betweenPages((served) => {
			canceled = served.results[3].code;
			fake.cancelOrder(canceled);
		});
		const page1 = (await get(`${ORDERS}?status=p&page_size=10`)).body;
		const page2 = (await get(page1.next)).body;
		const seen = [...page1.results, ...page2.results].map((o: Body) => o.code);
		const skipped = expected.filter((code) => !seen.includes(code));
		expect(skipped).toEqual([expected[10]]);
		expect(seen).toContain(canceled);
	});

	test('without the status filter the same cancellation shifts nothing', async () => {
		fake.generateOrders({ count: 20, seed: 4 });
		fake.betweenPages((served) => void fake.cancelOrder(served.results[3].code));
		const seen: string[] = [];
		for (let next: string | null = `${ORDERS}?page_size=10`; next; ) {
			const page: Body = (await get(next)).body;
			seen.push(...page.results.map((o: Body) => o.code));
			next = page.next;
		}
		expect(seen).toHaveLength(35);
		expect(new Set(seen).size).toBe(35);
	});

	test('betweenPages waits for the n-th matching response and runs once', async () => {
		let calls = 0;
		fake.betweenPages(
			(served) => {
				calls++;
				expect(served.page).toBe(1);
				expect(served.count).toBe(1);
			},
			{ after: 2, match: 'code=ABC3K' },
		);
		await get(`${ORDERS}?code=ABC3K`);
		await get(ORDERS);
		expect(calls).toBe(0);
		await get(`${ORDERS}?code=ABC3K`);
		await get(`${ORDERS}?code=ABC3K`);
		expect(calls).toBe(1);
	});
});

describe('OAuth redirect URIs (src/pretix/settings.py OAUTH2_PROVIDER ALLOWED_REDIRECT_URI_SCHEMES)', () => {
	test('production default: https only; http cannot be registered, and the seeded client has no http URI', async () => {
		expect(() => fake.registerRedirectUri('http://localhost:5678/rest/oauth2-credential/callback')).toThrow(/scheme not allowed/);
		expect(() => fake.registerRedirectUri('ftp://bridge.example.org/cb')).toThrow(/scheme not allowed/);
		fake.registerRedirectUri('https://n8n.example.org/rest/oauth2-credential/callback');
		expect(fake.oauthClients.get(FAKE_OAUTH_CLIENT.clientId)!.redirectUris).toEqual([...FAKE_OAUTH_CLIENT.redirectUris, 'https://n8n.example.org/rest/oauth2-credential/callback']);
		await expect(startFakePretix({ oauthClients: [{ clientId: 'x', clientSecret: 'y', redirectUris: ['http://bridge.example.org/cb'] }] })).rejects.toThrow(/scheme not allowed/);
	});

	test("test-only 'localhost' policy: http to loopback hosts only; the local n8n callback is registered", async () => {
		const local = await startFakePretix({ allowHttpRedirectUris: 'localhost' });
		try {
			expect(local.oauthClients.get(FAKE_OAUTH_CLIENT.clientId)!.redirectUris).toContain(FAKE_OAUTH_LOCAL_REDIRECT_URI);
			local.registerRedirectUri('http://127.0.0.1:5679/rest/oauth2-credential/callback');
			expect(() => local.registerRedirectUri('http://n8n.example.org/cb')).toThrow(/scheme not allowed/);
			const r = await fetch(`${local.url}/api/v1/oauth/authorize?${new URLSearchParams({ client_id: FAKE_OAUTH_CLIENT.clientId, response_type: 'code', scope: 'read', redirect_uri: FAKE_OAUTH_LOCAL_REDIRECT_URI })}`, { redirect: 'manual' });
			expect(r.status).toBe(302);
			expect(r.headers.get('location')).toMatch(/^http:\/\/localhost:5678\/rest\/oauth2-credential\/callback\?code=/);
		} finally {
			await local.stop();
		}
	});

	test('a DEBUG pretix (true) accepts any http URI; an http URI slipped in without it is refused at authorize', async () => {
		const debug = await startFakePretix({ allowHttpRedirectUris: true });
		try {
			debug.registerRedirectUri('http://n8n.example.org/cb');
		} finally {
			await debug.stop();
		}
		fake.oauthClients.get(FAKE_OAUTH_CLIENT.clientId)!.redirectUris.push('http://n8n.example.org/cb');
		const r = await get(`/api/v1/oauth/authorize?${new URLSearchParams({ client_id: FAKE_OAUTH_CLIENT.clientId, response_type: 'code', redirect_uri: 'http://n8n.example.org/cb' })}`, null);
		expect(r.status).toBe(400);
		expect(r.headers.get('location')).toBeNull();
	});

	// src/tests/api/test_oauth.py test_authorize_missing_response_type / test_authorize_disallow_response_token
	test('authorize: missing response_type → invalid_request; response_type=token → unauthorized_client', async () => {
		const redirect_uri = FAKE_OAUTH_CLIENT.redirectUris[0];
		const missing = await get(`/api/v1/oauth/authorize?${new URLSearchParams({ client_id: FAKE_OAUTH_CLIENT.clientId, redirect_uri })}`, null);
		expect(missing.status).toBe(302);
		expect(missing.headers.get('location')).toBe(`${redirect_uri}?error=invalid_request&error_description=Missing+response_type+parameter.`);
		const token = await get(`/api/v1/oauth/authorize?${new URLSearchParams({ client_id: FAKE_OAUTH_CLIENT.clientId, redirect_uri, response_type: 'token' })}`, null);
		expect(token.headers.get('location')).toBe(`${redirect_uri}?error=unauthorized_client`);
	});
});

describe('/api/v1/me (src/pretix/api/views/user.py MeView; DRF APIView.handle_exception)', () => {
	// MeView.authentication_classes = (SessionAuthentication, OAuth2Authentication). An expired token
	// makes OAuth2Authentication return None (anonymous); DRF then raises NotAuthenticated and, since
	// the first authenticator (session) has no authenticate_header, turns the 401 into a 403.
	test('an expired access token → 403 "Authentication credentials were not provided." without WWW-Authenticate', async () => {
		const t = fake.issueOAuthToken({ scope: 'profile' });
		expect((await get('/api/v1/me', `Bearer ${t.access_token}`)).status).toBe(200);
		fake.expireAccessToken(t.access_token);
		const r = await get('/api/v1/me', `Bearer ${t.access_token}`);
		expect(r.status).toBe(403);
		expect(r.body).toEqual({ detail: 'Authentication credentials were not provided.' });
		expect(r.headers.get('www-authenticate')).toBeNull();
		// The organizer API answers the same expired token with 401 (its first class, team token
		// auth, has the "Token" authenticate header).
		expect((await get(ORDERS, `Bearer ${t.access_token}`)).status).toBe(401);
	});
});

describe('generator: issue-11 order states and the access rule of each generated ticket', () => {
	test('default options keep the old mix: active = paid order, position not canceled, not test mode', () => {
		const g = fake.generateOrders({ count: 300, seed: 5, statuses: { p: 5, n: 2, e: 1, c: 1 }, testmodeFraction: 0.2, canceledPositionFraction: 0.3, positionsPerOrder: [1, 3] });
		const orders = new Map(g.orders.map((o) => [o.code as string, o]));
		for (const a of g.attendees) {
			const order = orders.get(a.code)!;
			const position = order.positions.find((p: Body) => p.id === a.positionId);
			expect(a.active).toBe(order.status === 'p' && !position.canceled && !order.testmode);
			expect([order.require_approval, order.valid_if_pending, position.blocked, position.valid_from, position.addon_to]).toEqual([false, false, null, null, null]);
		}
		expect(new Set(g.attendees.map((a) => a.inactiveReason))).toEqual(new Set([null, 'testmode', 'positionCanceled', 'orderCanceled', 'orderExpired', 'orderPending']));
	});

	test('approval, denial, valid_if_pending, cancel-with-fee, blocked, validity windows, add-ons and sub-events follow the rule', () => {
		fake.clock.set('2026-06-01T12:00:00Z');
		const nowUs = Date.parse('2026-06-01T12:00:00Z') * 1000;
		const g = fake.generateOrders({
			count: 600,
			seed: 21,
			event: 'meetups26',
			statuses: { p: 6, n: 2, e: 1, c: 1, x: 0.3 },
			orderStates: { pendingApproval: 0.08, denied: 0.05, validIfPending: 0.1, cancelWithFee: 0.05 },
			blockedFraction: 0.1,
			validityFraction: 0.2,
			addonFraction: 0.3,
			subevents: [41, 42, 43],
			positionsPerOrder: [1, 2],
		});
		const orders = new Map(g.orders.map((o) => [o.code as string, o]));
		const us = (iso: string | null) => (iso === null ? undefined : Date.parse(iso) * 1000);
		const own = (order: Body, p: Body): boolean => {
			if (order.testmode || p.canceled) return false;
			const statusOk = order.status === 'p' || (order.status === 'n' && !order.require_approval && order.valid_if_pending);
			if (!statusOk || (p.blocked ?? []).length > 0) return false;
			if (us(p.valid_from) !== undefined && us(p.valid_from)! > nowUs) return false;
			return !(us(p.valid_until) !== undefined && us(p.valid_until)! < nowUs);
		};
		for (const a of g.attendees) {
			const order = orders.get(a.code)!;
			const position = order.positions.find((p: Body) => p.id === a.positionId);
			const parent = position.addon_to === null ? undefined : order.positions.find((p: Body) => p.id === position.addon_to);
			expect(a.active).toBe(own(order, position) && (parent === undefined || own(order, parent)));
			expect(a.orderStatus).toBe(order.status);
			if (parent) {
				expect(position).toMatchObject({ item: 203, subevent: parent.subevent, canceled: parent.canceled, answers: [] });
				expect(a.addonTo).toBe(parent.id);
			} else expect([41, 42, 43]).toContain(position.subevent);
		}
		for (const order of g.orders) {
			if (order.require_approval) expect(['n', 'c']).toContain(order.status);
			if (order.valid_if_pending) expect(order.status).toBe('n');
			if (order.fees.length) {
				expect(order).toMatchObject({ status: 'p', total: '10.00', fees: [expect.objectContaining({ fee_type: 'cancellation', canceled: false })] });
				expect(order.positions.every((p: Body) => p.canceled)).toBe(true);
			}
		}
		const reasons = new Set(g.attendees.map((a) => a.inactiveReason));
		for (const reason of [null, 'positionCanceled', 'orderCanceled', 'orderExpired', 'approvalPending', 'orderPending', 'unknownStatus', 'blocked', 'notYetValid', 'noLongerValid', 'parentInactive']) expect(reasons).toContain(reason);
		// A valid_if_pending order counts like a paid one; a plain pending one only when pending is selected.
		expect(g.attendees.some((a) => a.active && a.orderStatus === 'n')).toBe(true);
		const withPending = fake.generateOrders({ count: 50, seed: 2, statuses: { n: 1 }, pendingCounts: true });
		expect(withPending.attendees.every((a) => a.active)).toBe(true);
	});

	test('generated series orders are served with their sub-events and found by the subevent filter', async () => {
		const g = fake.generateOrders({ count: 30, seed: 6, event: 'meetups26', subevents: [41, 42] });
		const in41 = g.orders.filter((o) => o.positions.some((p: Body) => p.subevent === 41)).map((o) => o.code);
		const r = await get(`/api/v1/organizers/exampleorg/events/meetups26/orders/?subevent=41`);
		expect(r.body.results.map((o: Body) => o.code)).toEqual(in41);
		expect(in41.length).toBeGreaterThan(5);
		expect(in41.length).toBeLessThan(30);
	});
});
