import { readFileSync } from 'node:fs';
import path from 'node:path';

import type { HttpRequest, HttpResponse } from '../../../lib/http/types';
import { TransportError } from '../../../lib/http/types';
import { fetchTransport } from '../../../lib/http/fetch-transport';
import { MatrixClient, describeFailure, normaliseHomeserverUrl } from '../../../lib/matrix/client';
import {
	buildNoticeContent,
	htmlToPlain,
	sendNotice,
	threadRootOf,
	txnIdFor,
} from '../../../lib/matrix/messages';
import { withRetries } from '../../../lib/matrix/retrying';
import { startFakeHomeserver, type FakeHomeserver } from '../../fakes/matrix';

function recording(answer: (req: HttpRequest) => HttpResponse | Error) {
	const requests: HttpRequest[] = [];
	const transport = async <T>(req: HttpRequest): Promise<HttpResponse<T>> => {
		requests.push(req);
		const a = answer(req);
		if (a instanceof Error) throw a;
		return a as HttpResponse<T>;
	};
	return { requests, transport };
}

describe('MatrixClient', () => {
	test('every request names the package and its version in User-Agent (RFC 9110 §10.1.5 product/version)', async () => {
		const manifest = JSON.parse(readFileSync(path.join(__dirname, '../../../package.json'), 'utf8')) as { version: string };
		const { requests, transport } = recording(() => ({ status: 200, headers: {}, body: {} }));
		const client = new MatrixClient('https://matrix.example.org/', transport);
		await client.whoami();
		await client.send('!abc:example.org', 'm.room.message', 't', { body: 'x' });
		expect(requests.map((r) => r.headers?.['User-Agent'])).toEqual([
			`n8n-nodes-pretix-matrix/${manifest.version}`,
			`n8n-nodes-pretix-matrix/${manifest.version}`,
		]);
	});

	test('encodes every path segment and uses v3 paths', async () => {
		const { requests, transport } = recording(() => ({ status: 200, headers: {}, body: {} }));
		const client = new MatrixClient('https://matrix.example.org/', transport);
		await client.invite('!abc:example.org', '@a/b:example.org', 'hi');
		await client.resolveAlias('#orga:example.org');
		await client.stateEvent('!abc:example.org', 'm.room.member', '@x:example.org');
		await client.join('#r:example.org', ['a.org', 'b.org']);
		expect(requests.map((r) => r.url)).toEqual([
			'https://matrix.example.org/_matrix/client/v3/rooms/!abc%3Aexample.org/invite',
			'https://matrix.example.org/_matrix/client/v3/directory/room/%23orga%3Aexample.org',
			'https://matrix.example.org/_matrix/client/v3/rooms/!abc%3Aexample.org/state/m.room.member/%40x%3Aexample.org',
			'https://matrix.example.org/_matrix/client/v3/join/%23r%3Aexample.org',
		]);
		expect(requests[0].body).toEqual({ user_id: '@a/b:example.org', reason: 'hi' });
		expect(requests[3].qs).toEqual({ via: ['a.org', 'b.org'] });
	});

	test('maps answers to typed outcomes; prefers the precise retry_after_ms over the header', async () => {
		const answers: Array<HttpResponse | Error> = [
			{
				status: 429,
				headers: { 'retry-after': '4' },
				body: { errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', retry_after_ms: 3413 },
			},
			{ status: 429, headers: { 'retry-after': '2' }, body: { errcode: 'M_LIMIT_EXCEEDED' } },
			{
				status: 403,
				headers: {},
				body: { errcode: 'M_FORBIDDEN', error: '@alice:localhost is already in the room.' },
			},
			{ status: 502, headers: {}, body: '<html>bad gateway</html>' },
			new TransportError('No response from the server (ECONNREFUSED)', 'ECONNREFUSED'),
		];
		const { transport } = recording(() => answers.shift()!);
		const client = new MatrixClient('http://hs.local', transport);
		expect(await client.whoami()).toEqual({
			ok: false,
			kind: 'http',
			status: 429,
			errcode: 'M_LIMIT_EXCEEDED',
			serverError: 'Too Many Requests',
			retryAfterMs: 3413,
			retryAfterPrecise: true,
		});
		expect(await client.whoami()).toMatchObject({
			status: 429,
			retryAfterMs: 2000,
			retryAfterPrecise: false,
		});
		const forbidden = await client.whoami();
		expect(forbidden).toMatchObject({ status: 403, errcode: 'M_FORBIDDEN' });
		// Safe descriptions never carry the server's text (it contains IDs).
		expect(describeFailure(forbidden as never)).toBe('homeserver answered 403 M_FORBIDDEN');
		expect(await client.whoami()).toMatchObject({ status: 502, errcode: 'M_UNKNOWN' });
		expect(await client.whoami()).toEqual({ ok: false, kind: 'network', code: 'ECONNREFUSED' });
	});

	test('rejects homeserver URLs that are not http(s)', () => {
		expect(normaliseHomeserverUrl(' https://m.example.org// ')).toBe('https://m.example.org');
		expect(() => normaliseHomeserverUrl('ftp://x')).toThrow('must start with http');
		expect(() => normaliseHomeserverUrl('not a url')).toThrow('not a valid URL');
	});

	test('withRetries honours 429 delays and stops at the deadline', async () => {
		let clock = 0;
		const slept: number[] = [];
		const outcomes = [
			{
				ok: false as const,
				kind: 'http' as const,
				status: 429,
				errcode: 'M_LIMIT_EXCEEDED',
				serverError: '',
				retryAfterMs: 700,
			},
			{ ok: false as const, kind: 'network' as const, code: 'ECONNRESET' },
			{ ok: true as const, status: 200, value: 'done' },
		];
		const result = await withRetries(async () => outcomes.shift()!, {
			deadline: 10_000,
			now: () => clock,
			sleep: async (ms) => {
				slept.push(ms);
				clock += ms;
			},
		});
		expect(result).toEqual({ ok: true, status: 200, value: 'done' });
		expect(slept[0]).toBe(700);
		const giveUp = await withRetries(
			async () => ({
				ok: false as const,
				kind: 'http' as const,
				status: 429,
				errcode: 'M_LIMIT_EXCEEDED',
				serverError: '',
				retryAfterMs: 60_000,
			}),
			{
				deadline: clock + 1_000,
				now: () => clock,
				sleep: async () => undefined,
			},
		);
		expect(giveUp).toMatchObject({ status: 429 });
	});
});

describe('messages', () => {
	let hs: FakeHomeserver;
	afterEach(() => hs?.stop());

	test('txn ids are deterministic and distinct per logical message', () => {
		expect(txnIdFor('exec1', 'Notify', 0)).toBe(txnIdFor('exec1', 'Notify', 0));
		expect(txnIdFor('exec1', 'Notify', 0)).not.toBe(txnIdFor('exec1', 'Notify', 1));
		expect(txnIdFor('a', 'bc')).not.toBe(txnIdFor('ab', 'c'));
		expect(txnIdFor('x')).toMatch(/^n8n\.[A-Za-z0-9_-]{32}$/);
	});

	test('notice content: plain, HTML with fallback body, reply relation', () => {
		expect(buildNoticeContent({ room: '!r', text: 'hi' })).toEqual({
			msgtype: 'm.notice',
			body: 'hi',
			'm.mentions': {},
		});
		expect(
			buildNoticeContent({
				room: '!r',
				text: '',
				html: '<p>Hello <b>you</b> &amp; me</p>',
				replyTo: '$ev',
			}),
		).toEqual({
			msgtype: 'm.notice',
			body: 'Hello you & me',
			format: 'org.matrix.custom.html',
			formatted_body: '<p>Hello <b>you</b> &amp; me</p>',
			'm.relates_to': { 'm.in_reply_to': { event_id: '$ev' } },
			'm.mentions': {},
		});
		expect(htmlToPlain('a<br>b')).toBe('a\nb');
	});

	test('spec "Threading": a reply to an event in a thread stays in the thread, with the reply as fallback', () => {
		expect(
			buildNoticeContent({ room: '!r', text: 'done', replyTo: '$cmd', threadRoot: '$root' })['m.relates_to'],
		).toEqual({
			rel_type: 'm.thread',
			event_id: '$root',
			is_falling_back: true,
			'm.in_reply_to': { event_id: '$cmd' },
		});
		// No thread (null or absent): the plain reply relation as before; no reply, no relation.
		expect(buildNoticeContent({ room: '!r', text: 'done', replyTo: '$cmd', threadRoot: null })['m.relates_to']).toEqual({
			'm.in_reply_to': { event_id: '$cmd' },
		});
		expect(buildNoticeContent({ room: '!r', text: 'x', threadRoot: '$root' })).not.toHaveProperty('m.relates_to');
		// Only a well-formed m.thread relation names a thread; edits, replies and junk do not.
		expect(threadRootOf({ 'm.relates_to': { rel_type: 'm.thread', event_id: '$root' } })).toBe('$root');
		for (const content of [
			undefined,
			null,
			'text',
			{},
			{ 'm.relates_to': 'x' },
			{ 'm.relates_to': { rel_type: 'm.replace', event_id: '$e' } },
			{ 'm.relates_to': { 'm.in_reply_to': { event_id: '$e' } } },
			{ 'm.relates_to': { rel_type: 'm.thread', event_id: 42 } },
			{ 'm.relates_to': { rel_type: 'm.thread', event_id: 'not-an-event' } },
		])
			expect(threadRootOf(content)).toBeUndefined();
	});

	test('spec "Threading" + GET /rooms/{roomId}/event/{eventId}: sendNotice reads the replied-to event; in a thread it answers there, else (or when unreadable) as a plain reply', async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		const mod = hs.createUser('mod');
		const roomId = hs.createRoom({ creator: mod.userId, members: [bot.userId] });
		const client = new MatrixClient(hs.url, fetchTransport(() => `Bearer ${bot.accessToken}`));
		const root = hs.say(mod.userId, roomId, 'root');
		const inThread = hs.say(mod.userId, roomId, '!status', { thread: root });
		const outside = hs.say(mod.userId, roomId, '!status');
		const send = (replyTo: string, n: number) =>
			sendNotice(client, { room: roomId, text: 'ok', replyTo }, { txnId: txnIdFor('t', n) });
		for (const [n, replyTo] of [inThread, outside, '$unknown'].entries())
			expect(await send(replyTo, n)).toMatchObject({ status: 'sent' });
		const relations = hs
			.timeline(roomId, 'm.room.message')
			.filter((e) => e.sender === bot.userId)
			.map((e) => e.content['m.relates_to']);
		expect(relations).toEqual([
			{ rel_type: 'm.thread', event_id: root, is_falling_back: true, 'm.in_reply_to': { event_id: inThread } },
			{ 'm.in_reply_to': { event_id: outside } },
			{ 'm.in_reply_to': { event_id: '$unknown' } },
		]);
	});

	test('spec "User and room mentions": every message carries m.mentions, empty unless someone is addressed on purpose', () => {
		// A text that names a user, links them as a pill and says @room: with m.mentions present,
		// clients notify only the listed users, so an empty object pings nobody.
		const loud = buildNoticeContent({
			room: '!r',
			text: '@room hello @alice:example.org',
			html: '@room <a href="https://matrix.to/#/@alice:example.org">Alice</a>',
		});
		expect(loud['m.mentions']).toEqual({});
		expect(loud['m.mentions']).not.toHaveProperty('room');
		// Deliberate mentions list exactly the valid user IDs, once each; junk is dropped, never @room.
		expect(
			buildNoticeContent({
				room: '!r',
				text: 'hi',
				mentions: ['@alice:example.org', '@alice:example.org', 'not an id', '#room:example.org'],
			})['m.mentions'],
		).toEqual({ user_ids: ['@alice:example.org'] });
	});

	test('sendNotice: 429s wait the retry_after_ms asked for, 5xx are retried until the budget (not a count) is spent', async () => {
		// Synapse's 429 body (synapse/api/errors.py LimitExceededError): errcode plus retry_after_ms.
		const limited = {
			status: 429,
			headers: { 'retry-after': '2' },
			body: { errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', retry_after_ms: 1234 },
		};
		const unavailable = {
			status: 503,
			headers: {},
			body: { errcode: 'M_UNKNOWN', error: 'Service unavailable' },
		};
		const answers: HttpResponse[] = [
			limited,
			limited,
			...Array(6).fill(unavailable),
			{ status: 200, headers: {}, body: { event_id: '$sent' } },
		];
		const { requests, transport } = recording(() => answers.shift() ?? unavailable);
		const client = new MatrixClient('http://hs.local', transport);
		// A clock that only the retries move: waits are recorded, never slept.
		let clock = 0;
		const waits: number[] = [];
		const sleep = async (ms: number) => {
			waits.push(ms);
			clock += ms;
		};
		const sent = await sendNotice(
			client,
			{ room: '!room:hs.local', text: 'Invites sent: 3' },
			{ txnId: 'txn-budget', budgetMs: 120_000, now: () => clock, sleep },
		);
		expect(sent).toEqual({
			status: 'sent',
			roomId: '!room:hs.local',
			eventId: '$sent',
			txnId: 'txn-budget',
		});
		expect(waits.slice(0, 2)).toEqual([1234, 1234]);
		expect(waits).toHaveLength(8);
		// Every attempt is the same PUT: one transaction id, so the homeserver posts once.
		expect(new Set(requests.map((r) => `${r.method} ${r.url}`)).size).toBe(1);
		// Failing for longer than the budget: given up, and no wait reached past the budget.
		clock = 0;
		waits.length = 0;
		const failed = await sendNotice(
			client,
			{ room: '!room:hs.local', text: 'second' },
			{ txnId: 'txn-budget-2', budgetMs: 20_000, now: () => clock, sleep },
		);
		expect(failed).toMatchObject({ status: 'gaveUp', reason: 'http503' });
		expect(clock).toBeLessThanOrEqual(20_000);
		expect(waits.length).toBeGreaterThan(4);
	});

	test('sendNotice retries with the same txn id and posts exactly once', async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		const roomId = hs.createRoom({ creator: bot.userId, alias: '#orga:localhost' });
		const client = new MatrixClient(
			hs.url,
			fetchTransport(() => `Bearer ${bot.accessToken}`),
		);
		hs.failNext(2, { status: 502, path: /\/send\// });
		const txnId = txnIdFor('exec', 'node', 0);
		const first = await sendNotice(
			client,
			{ room: '#orga:localhost', text: 'Invites sent: 3' },
			{ txnId },
		);
		expect(first).toMatchObject({ status: 'sent', roomId });
		const again = await sendNotice(client, { room: roomId, text: 'Invites sent: 3' }, { txnId });
		expect(again).toMatchObject({
			status: 'sent',
			eventId: (first as { eventId: string }).eventId,
		});
		expect(hs.timeline(roomId, 'm.room.message')).toHaveLength(1);
		expect(
			await sendNotice(client, { room: '#nope:localhost', text: 'x' }, { txnId: 't2' }),
		).toMatchObject({ status: 'notPermitted', reason: 'roomNotFound' });
		expect(
			await sendNotice(client, { room: roomId, text: 'x'.repeat(70_000) }, { txnId: 't3' }),
		).toMatchObject({ status: 'invalidInput', reason: 'messageTooLarge' });
		expect(
			await sendNotice(client, { room: roomId, text: 'x', replyTo: 'nope' }, { txnId: 't4' }),
		).toMatchObject({ status: 'invalidInput', reason: 'invalidReplyTo' });
	});
});
