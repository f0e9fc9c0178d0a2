/**
 * Matrix Invite through n8n's engine against the fake homeserver: every invite outcome, revoke,
 * membership, message idempotency, the credential (token and password modes) and run-level errors.
 */
import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';

import { startFakeHomeserver, type FakeHomeserver } from '../fakes/matrix';
import { credentialTest, runWorkflow, wf } from '../harness/engine';

const node = (parameters: IDataObject, extra: { continueOnFail?: boolean } = {}) =>
	wf([
		{
			name: 'Matrix',
			type: 'matrixInvite',
			parameters: parameters as never,
			credentials: ['matrixBotApi'],
			...extra,
		},
	]);

describe('Matrix Invite node', () => {
	let hs: FakeHomeserver;
	let bot: ReturnType<FakeHomeserver['createUser']>;
	let roomId: string;
	let creds: { matrixBotApi: ICredentialDataDecryptedObject };

	beforeEach(async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		bot = hs.createUser('bot', { password: 'bot-password' });
		roomId = hs.createRoom({ creator: bot.userId, alias: '#attendees:localhost' });
		creds = {
			matrixBotApi: {
				homeserverUrl: hs.url,
				authMode: 'accessToken',
				accessToken: bot.accessToken,
			},
		};
	});
	afterEach(() => hs.stop());

	test('invite: every item ends with its status, nothing dropped, each person invited once', async () => {
		for (const name of ['joined', 'pending', 'banned', 'new1', 'new2']) hs.createUser(name);
		hs.setMembership(roomId, '@joined:localhost', 'join');
		hs.setMembership(roomId, '@pending:localhost', 'invite', { sender: bot.userId });
		hs.setMembership(roomId, '@banned:localhost', 'ban', { sender: bot.userId });
		const input = [
			{ order: 'A1', matrixId: '@new1:localhost' },
			{ order: 'A2', matrixId: '@joined:localhost' },
			{ order: 'A3', matrixId: '@pending:localhost' },
			{ order: 'A4', matrixId: '@banned:localhost' },
			{ order: 'A5', matrixId: '@x:nonexistent.invalid' },
			{ order: 'A6', matrixId: 'alice' },
			{ order: 'A7', matrixId: null },
			{ order: 'A8', matrixId: '@new1:localhost' },
			{ order: 'A9', matrixId: '  @new2:localhost ' },
		];
		const run = await runWorkflow({
			workflow: node({
				operation: 'invite',
				rooms: '#attendees:localhost',
				userId: '={{ $json.matrixId }}',
				options: { reason: 'Your ticket' },
			}),
			credentials: creds,
			input,
		});
		expect(run.status).toBe('success');
		const out = run.output('Matrix');
		expect(out.map((o) => [o.order, (o.matrix as IDataObject).status])).toEqual([
			['A1', 'invited'],
			['A2', 'alreadyJoined'],
			['A3', 'alreadyInvited'],
			['A4', 'banned'],
			['A5', 'serverUnreachable'],
			['A6', 'invalidUserId'],
			['A7', 'invalidUserId'],
			['A8', 'invited'],
			['A9', 'invited'],
		]);
		expect(out[0].matrix).toEqual({
			operation: 'invite',
			userId: '@new1:localhost',
			status: 'invited',
			rooms: [
				{ room: '#attendees:localhost', roomId, status: 'invited', reason: 'invited', attempts: 1 },
			],
		});
		expect(run.items('Matrix').map((i) => i.pairedItem)).toEqual(
			input.map((_x, item) => ({ item })),
		);
		expect(hs.inviteCount(roomId, '@new1:localhost')).toBe(1);
		expect(hs.inviteCount(roomId, '@new2:localhost')).toBe(1);
		// Nine items, a handful of people: member state read per person, never the whole list.
		expect(hs.countRequests({ path: /\/members$/ })).toBe(0);
		// One credential read for the run, not one per request (n8n decrypts it from its database on each).
		expect(hs.countRequests({ path: /\/_matrix\/client\// })).toBeGreaterThan(5);
		expect(run.credentialsHelper.reads).toEqual(['matrixBotApi']);
	});

	test('webhook runs one after another (one attendee each) share what they learned about the bot: one whoami, one alias lookup, one power-level read; a new token starts afresh', async () => {
		for (let i = 0; i < 4; i++) hs.createUser(`guest${i}`);
		const invite = (userId: string, credentials = creds) =>
			runWorkflow({
				workflow: node({ operation: 'invite', rooms: '#attendees:localhost', userId: '={{ $json.matrixId }}' }),
				credentials,
				input: [{ matrixId: userId }],
			});
		for (let i = 0; i < 3; i++) {
			const run = await invite(`@guest${i}:localhost`);
			expect(run.output('Matrix')[0].matrix).toMatchObject({ status: 'invited' });
		}
		expect(hs.countRequests({ path: /\/account\/whoami$/ })).toBe(1);
		expect(hs.countRequests({ path: /\/directory\/room\// })).toBe(1);
		expect(hs.countRequests({ path: /\/state\/m\.room\.power_levels/ })).toBe(1);
		// Another token is another bot: nothing learned under the old one is used.
		const other = hs.createUser('otherbot');
		hs.setMembership(roomId, other.userId, 'join');
		const fresh = await invite('@guest3:localhost', { matrixBotApi: { ...creds.matrixBotApi, accessToken: other.accessToken } });
		expect(fresh.output('Matrix')[0].matrix).toMatchObject({ status: 'invited' });
		expect(hs.countRequests({ path: /\/account\/whoami$/ })).toBe(2);
		const invitedBy = hs.timeline(roomId, 'm.room.member').find((e) => e.state_key === '@guest3:localhost')?.sender;
		expect(invitedBy).toBe(other.userId);
		for (let i = 0; i < 4; i++) expect(hs.inviteCount(roomId, `@guest${i}:localhost`)).toBe(1);
	});

	test("invite under an unknown rate limit through n8n's HTTP stack (Homeserver Limits: learn): everyone invited once, 429s honoured", async () => {
		// Not Synapse's defaults: 20 invites/s, burst 5, and no rc_message.
		hs.setRateLimits({
			invitesPerIssuer: { perSecond: 20, burst: 5 },
			invitesPerRoom: false,
			message: false,
		});
		const input = Array.from({ length: 40 }, (_, i) => ({ matrixId: `@rl${i}:localhost` }));
		const run = await runWorkflow({
			workflow: node({ operation: 'invite', rooms: roomId, options: { limits: 'learn' } }),
			credentials: creds,
			input,
		});
		expect(run.output('Matrix').every((o) => (o.matrix as IDataObject).status === 'invited')).toBe(
			true,
		);
		expect(input.every((i) => hs.inviteCount(roomId, i.matrixId) === 1)).toBe(true);
		const limited = hs.countRequests({ path: /\/invite$/, status: 429 });
		expect(limited).toBeGreaterThan(0);
		expect(limited).toBeLessThan(8);
	});

	test("Synapse's default limits (the default): the first ten go at once and nothing is sent that rc_message must refuse", async () => {
		hs.setRateLimits({});
		const input = Array.from({ length: 10 }, (_, i) => ({ matrixId: `@d${i}:localhost` }));
		const run = await runWorkflow({
			workflow: node({ operation: 'invite', rooms: roomId }),
			credentials: creds,
			input,
		});
		expect(run.output('Matrix').map((o) => (o.matrix as IDataObject).status)).toEqual(
			input.map(() => 'invited'),
		);
		expect(hs.countRequests({ status: 429 })).toBe(0);
	});

	test('Lift Bot Rate Limits: an admin bot is exempted through the admin API first; a bot that is not an admin goes on at the limits', async () => {
		hs.setRateLimits({});
		hs.setAdmin(bot.userId);
		const input = Array.from({ length: 30 }, (_, i) => ({ matrixId: `@lift${i}:localhost` }));
		const run = await runWorkflow({
			workflow: node({ operation: 'invite', rooms: roomId, options: { liftRateLimits: true } }),
			credentials: creds,
			input,
		});
		expect(run.output('Matrix').every((o) => (o.matrix as IDataObject).status === 'invited')).toBe(
			true,
		);
		expect(hs.countRequests({ status: 429 })).toBe(0);
		expect(hs.limits.override(bot.userId)).toEqual({ messagesPerSecond: 0, burstCount: 0 });

		hs.setAdmin(bot.userId, false);
		hs.limits.setOverride(bot.userId, undefined);
		const notAdmin = await runWorkflow({
			workflow: node({ operation: 'invite', rooms: roomId, options: { liftRateLimits: true } }),
			credentials: creds,
			input: [{ matrixId: '@plain:localhost' }],
		});
		expect((notAdmin.output('Matrix')[0].matrix as IDataObject).status).toBe('invited');
		expect(hs.limits.override(bot.userId)).toBeUndefined();
	});

	test('Time Budget 0 means no budget; an unreachable server is reported with when to try again', async () => {
		const run = await runWorkflow({
			workflow: node({ operation: 'invite', rooms: roomId, options: { budgetSeconds: 0 } }),
			credentials: creds,
			input: [{ matrixId: '@x:nonexistent.invalid' }, { matrixId: '@fine:localhost' }],
		});
		const [gone, fine] = run.output('Matrix').map((o) => o.matrix as IDataObject);
		expect(gone.rooms).toEqual([
			expect.objectContaining({
				status: 'serverUnreachable',
				reason: 'remoteServerUnreachable',
				retryAfterMs: 3_600_000,
			}),
		]);
		expect(fine.status).toBe('invited');
	});

	test('invite into several rooms per item, one status per room and an overall status', async () => {
		const second = hs.createRoom({ creator: bot.userId });
		const foreign = hs.createRoom({ creator: hs.createUser('owner').userId });
		hs.createUser('guest');
		const run = await runWorkflow({
			workflow: node({
				operation: 'invite',
				rooms: `={{ ["${roomId}", "${second}", "${foreign}"] }}`,
				userId: '@guest:localhost',
			}),
			credentials: creds,
		});
		const result = run.output('Matrix')[0].matrix as IDataObject;
		expect((result.rooms as IDataObject[]).map((r) => [r.status, r.reason])).toEqual([
			['invited', 'invited'],
			['invited', 'invited'],
			['notPermitted', 'botNotInRoom'],
		]);
		expect(result.status).toBe('notPermitted');
	});

	test('revoke and membership', async () => {
		for (const name of ['inv', 'mem']) hs.createUser(name);
		hs.setMembership(roomId, '@inv:localhost', 'invite', { sender: bot.userId });
		hs.setMembership(roomId, '@mem:localhost', 'join');
		const input = [
			{ matrixId: '@inv:localhost' },
			{ matrixId: '@mem:localhost' },
			{ matrixId: '@nobody:localhost' },
		];
		const before = await runWorkflow({
			workflow: node({ operation: 'membership', rooms: roomId }),
			credentials: creds,
			input,
		});
		expect(before.output('Matrix').map((o) => (o.matrix as IDataObject).membership)).toEqual([
			'invited',
			'joined',
			'none',
		]);
		const keep = await runWorkflow({
			workflow: node({
				operation: 'revoke',
				rooms: roomId,
				options: { keepMembers: true, reason: 'Order cancelled' },
			}),
			credentials: creds,
			input,
		});
		expect(keep.output('Matrix').map((o) => (o.matrix as IDataObject).status)).toEqual([
			'withdrawn',
			'notPermitted',
			'notInRoom',
		]);
		expect(hs.membership(roomId, '@mem:localhost')).toBe('join');
		const all = await runWorkflow({
			workflow: node({ operation: 'revoke', rooms: roomId }),
			credentials: creds,
			input,
		});
		expect(all.output('Matrix').map((o) => (o.matrix as IDataObject).status)).toEqual([
			'notInRoom',
			'removed',
			'notInRoom',
		]);
		const after = await runWorkflow({
			workflow: node({ operation: 'membership', rooms: roomId }),
			credentials: creds,
			input,
		});
		expect(after.output('Matrix').map((o) => (o.matrix as IDataObject).membership)).toEqual([
			'left',
			'left',
			'none',
		]);
	});

	test('message: HTML notice as a reply; a retried request posts once', async () => {
		const command = hs.say(bot.userId, roomId, '!status');
		hs.failNext(1, { status: 502, path: /\/send\// });
		const parameters = {
			operation: 'message',
			room: '#attendees:localhost',
			text: 'Invited: 3',
			messageOptions: { html: '<b>Invited:</b> 3', replyTo: command },
		};
		const run = await runWorkflow({ workflow: node(parameters), credentials: creds });
		expect(run.status).toBe('success');
		const result = run.output('Matrix')[0].matrix as IDataObject;
		expect(result).toMatchObject({ operation: 'message', status: 'sent', roomId });
		const notices = hs
			.timeline(roomId, 'm.room.message')
			.filter((e) => e.content.msgtype === 'm.notice');
		expect(notices).toHaveLength(1);
		expect(notices[0].content).toEqual({
			msgtype: 'm.notice',
			body: 'Invited: 3',
			format: 'org.matrix.custom.html',
			formatted_body: '<b>Invited:</b> 3',
			'm.relates_to': { 'm.in_reply_to': { event_id: command } },
			// spec "User and room mentions": the sent event mentions nobody unless asked to.
			'm.mentions': {},
		});
		// Through n8n's request helper too, the homeserver sees who is calling (package/version).
		const agents = new Set(hs.requests().map((r) => r.userAgent));
		expect([...agents]).toEqual([expect.stringMatching(/^n8n-nodes-pretix-matrix\/\d+\.\d+\.\d+/)]);
		// The same logical message (idempotency key) is never posted twice.
		const keyed = { ...parameters, messageOptions: { idempotencyKey: 'status-reply-1' } };
		const first = await runWorkflow({ workflow: node(keyed), credentials: creds });
		const second = await runWorkflow({ workflow: node(keyed), credentials: creds });
		expect((second.output('Matrix')[0].matrix as IDataObject).eventId).toBe(
			(first.output('Matrix')[0].matrix as IDataObject).eventId,
		);
		expect(
			hs.timeline(roomId, 'm.room.message').filter((e) => e.content.msgtype === 'm.notice'),
		).toHaveLength(2);
	});

	test('spec "Threading": replies to a command in a thread stay there (the command is read once per run), also when combined', async () => {
		const root = hs.say(bot.userId, roomId, 'Check-in questions');
		const command = hs.say(bot.userId, roomId, '!status', { thread: root });
		const thread = {
			rel_type: 'm.thread',
			event_id: root,
			is_falling_back: true,
			'm.in_reply_to': { event_id: command },
		};
		const input = [{ n: 1 }, { n: 2 }, { n: 3 }];
		const perItem = await runWorkflow({
			workflow: node({ operation: 'message', room: roomId, text: '={{ "line " + $json.n }}', messageOptions: { replyTo: command } }),
			credentials: creds,
			input,
		});
		expect(perItem.status).toBe('success');
		// Long enough for two combined messages: each part is in the thread.
		const combined = await runWorkflow({
			workflow: node({ operation: 'message', room: roomId, combine: true, text: '={{ "x".repeat(20000) }}', messageOptions: { replyTo: command } }),
			credentials: creds,
			input: [{}, {}],
		});
		expect(combined.status).toBe('success');
		const replies = hs.timeline(roomId, 'm.room.message').filter((e) => e.content.msgtype === 'm.notice');
		expect(replies).toHaveLength(5);
		for (const reply of replies) expect(reply.content['m.relates_to']).toEqual(thread);
		expect(hs.countRequests({ method: 'GET', path: /\/event\// })).toBe(2);
	});

	test('message to an unknown room is reported, not thrown; empty messages are configuration errors', async () => {
		const run = await runWorkflow({
			workflow: node({ operation: 'message', room: '#nope:localhost', text: 'x' }),
			credentials: creds,
		});
		expect(run.output('Matrix')[0].matrix).toMatchObject({
			status: 'notPermitted',
			reason: 'roomNotFound',
		});
		const empty = await runWorkflow({
			workflow: node({ operation: 'message', room: roomId, text: ' ' }),
			credentials: creds,
		});
		expect(empty.status).toBe('error');
		expect(empty.error?.message).toBe('The message is empty');
	});

	test('a rejected token fails the run without IDs in the message; continueOnFail marks every item', async () => {
		const bad = { matrixBotApi: { ...creds.matrixBotApi, accessToken: 'syt_revoked' } };
		const input = [{ matrixId: '@a:localhost' }, { matrixId: '@b:localhost' }];
		const run = await runWorkflow({
			workflow: node({ operation: 'invite', rooms: roomId }),
			credentials: bad,
			input,
		});
		expect(run.status).toBe('error');
		expect(run.error?.message).not.toMatch(/@|!|syt_/);
		const tolerant = await runWorkflow({
			workflow: node({ operation: 'invite', rooms: roomId }, { continueOnFail: true }),
			credentials: bad,
			input,
		});
		expect(tolerant.output('Matrix').map((o) => typeof o.error)).toEqual(['string', 'string']);
		const noRooms = await runWorkflow({
			workflow: node({ operation: 'invite', rooms: '={{ $json.rooms }}' }),
			credentials: creds,
			input,
		});
		expect(noRooms.error?.message).toBe('Name at least one room (room ID or alias)');
		expect(hs.countRequests({ path: /\/invite$/ })).toBe(0);
	});

	test('password mode logs in once on a fixed device and reuses the token', async () => {
		const password = {
			matrixBotApi: {
				homeserverUrl: hs.url,
				authMode: 'password',
				user: 'bot',
				password: 'bot-password',
				deviceId: 'N8NTEST',
			},
		};
		hs.createUser('p1');
		hs.createUser('p2');
		const first = await runWorkflow({
			workflow: node({ operation: 'invite', rooms: roomId }),
			credentials: password,
			input: [{ matrixId: '@p1:localhost' }, { matrixId: '@p2:localhost' }],
		});
		expect(first.output('Matrix').map((o) => (o.matrix as IDataObject).status)).toEqual([
			'invited',
			'invited',
		]);
		expect(hs.countRequests({ path: /\/login$/, method: 'POST' })).toBe(1);
		expect(first.credentialUpdates.map((u) => Object.keys(u.data))).toEqual([['sessionToken']]);
		// A later run reuses the stored token: no second login.
		await runWorkflow({
			workflow: node({ operation: 'membership', rooms: roomId }),
			credentials: password,
			input: [{ matrixId: '@p1:localhost' }],
			credentialsHelper: first.credentialsHelper,
		});
		expect(hs.countRequests({ path: /\/login$/, method: 'POST' })).toBe(1);
		expect(hs.deviceCount(bot.userId)).toBe(2);
	});

	test('password mode: a token revoked between runs is replaced by one new login', async () => {
		const password = {
			matrixBotApi: {
				homeserverUrl: hs.url,
				authMode: 'password',
				user: 'bot',
				password: 'bot-password',
				deviceId: 'N8NTEST',
			},
		};
		hs.createUser('q1');
		const first = await runWorkflow({
			workflow: node({ operation: 'membership', rooms: roomId }),
			credentials: password,
			input: [{ matrixId: '@q1:localhost' }],
		});
		const token = String(first.credentialUpdates[0].data.sessionToken);
		const logout = await fetch(`${hs.url}/_matrix/client/v3/logout`, {
			method: 'POST',
			headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
			body: '{}',
		});
		expect(logout.status).toBe(200);
		const readsBefore = first.credentialsHelper.reads.length;
		const second = await runWorkflow({
			workflow: node({ operation: 'invite', rooms: roomId }),
			credentials: password,
			input: [{ matrixId: '@q1:localhost' }],
			credentialsHelper: first.credentialsHelper,
		});
		expect(second.status).toBe('success');
		expect((second.output('Matrix')[0].matrix as IDataObject).status).toBe('invited');
		expect(hs.countRequests({ path: /\/login$/, method: 'POST' })).toBe(2);
		// The credential read once; n8n's refresh-and-retry on 401 worked on that copy.
		expect(second.credentialsHelper.reads.length - readsBefore).toBe(1);
		expect(second.credentialUpdates.at(-1)?.data.sessionToken).not.toBe(token);
		expect(hs.deviceCount(bot.userId)).toBe(2);
	});

	test('estimate: the time for these invites at Synapse\'s default limits, without a request', async () => {
		hs.clearLog();
		const input = Array.from({ length: 60 }, (_, i) => ({ plan: { room: i % 2 ? '!a:localhost' : '!b:localhost', userId: `@p${i}:localhost` } }));
		const run = await runWorkflow({ workflow: node({ operation: 'estimate', estimateOptions: { notices: 2 } }), credentials: creds, input });
		expect(run.status).toBe('success');
		// 60 invites + 2 notices share rc_message (0.2/s, burst 10): (62 - 10) / 0.2 = 260 s.
		expect(run.output('Matrix')).toEqual([{ invites: 60, rooms: 2, people: 60, seconds: 260, minutes: 5, limitedBy: 'message', lifted: false }]);
		const lifted = await runWorkflow({ workflow: node({ operation: 'estimate', estimateOptions: { lifted: true } }), credentials: creds, input });
		expect(lifted.output('Matrix')[0]).toMatchObject({ seconds: 0, lifted: true });
		expect(hs.requests()).toEqual([]);
	});

	test('preflight (resource Room): one item per room with its verdict and line, from an array or a comma list; reads only', async () => {
		// The bot created #attendees (power 100); in #talks a moderator gave it no power (spec: kick defaults to 50).
		hs.createUser('mod');
		const talks = hs.createRoom({ creator: '@mod:localhost', alias: '#talks:localhost', members: [bot.userId] });
		hs.setState(talks, 'm.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' });
		const closed = hs.createRoom({ creator: '@mod:localhost' });
		hs.clearLog();
		const run = await runWorkflow({
			workflow: node({ resource: 'room', operation: 'preflight', rooms: '={{ $json.rooms }}' }),
			credentials: creds,
			input: [{ rooms: ['#attendees:localhost', talks] }, { rooms: `${closed}, #nowhere:localhost` }],
		});
		expect(run.status).toBe('success');
		const out = run.output('Matrix');
		expect(out.map((o) => [o.room, o.ok])).toEqual([
			['#attendees:localhost', true],
			[talks, false],
			[closed, false],
			['#nowhere:localhost', false],
		]);
		expect(run.items('Matrix').map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 0 }, { item: 1 }, { item: 1 }]);
		expect(out.map((o) => o.text)).toEqual([
			'✅ #attendees:localhost — can invite and kick; invite-only; room version 10',
			"⚠️ #talks:localhost — the bot's power level 0 is below kick (50): it cannot withdraw canceled tickets; invite-only; room version 10; encrypted: the bot cannot read commands typed here yet (this package does not decrypt)",
			`⚠️ ${closed} — the bot is not in this room: invite the bot and let it join`,
			'⚠️ #nowhere:localhost — no such room (the alias or room is unknown to the homeserver)',
		]);
		expect(out[1]).toMatchObject({ facts: { roomId: talks, encrypted: true, canInvite: true, canKick: false } });
		expect(hs.requests().filter((r) => r.method !== 'GET')).toEqual([]);
		// One whoami for the run, however many rooms.
		expect(hs.countRequests({ path: /\/whoami$/ })).toBe(1);
		const withEta = await runWorkflow({
			workflow: node({ resource: 'room', operation: 'preflight', rooms: `#attendees:localhost, ${talks}, ${closed}`, preflightOptions: { attendees: 100 } }),
			credentials: creds,
		});
		// Invites go into the two rooms the bot may invite into: (200 − 10) / 0.2 s at Synapse's rc_message.
		expect(withEta.output('Matrix').map((o) => o.eta)).toEqual(
			Array(3).fill({ attendees: 100, rooms: 2, invites: 200, seconds: 950, limitedBy: 'message', text: expect.stringMatching(/^ETA: 200 invites \(100 attendees × 2 rooms\) take about 16 minutes/) }),
		);
		const none = await runWorkflow({ workflow: node({ resource: 'room', operation: 'preflight', rooms: '' }), credentials: creds });
		expect([none.status, none.output('Matrix')]).toEqual(['success', []]);
	});

	test('preflight with a rejected token fails the run without IDs in the message', async () => {
		const bad = { matrixBotApi: { ...creds.matrixBotApi, accessToken: 'syt_revoked' } };
		const run = await runWorkflow({ workflow: node({ resource: 'room', operation: 'preflight', rooms: roomId }), credentials: bad });
		expect(run.status).toBe('error');
		expect(run.error?.message).not.toMatch(/@|!|syt_/);
	});

	test('credential test: whoami with a token, with a password, and failures', async () => {
		expect(await credentialTest('matrixBotApi', creds.matrixBotApi)).toMatchObject({
			status: 'OK',
		});
		expect(
			await credentialTest('matrixBotApi', { ...creds.matrixBotApi, accessToken: 'syt_bad' }),
		).toMatchObject({ status: 'Error', message: 'The homeserver rejected the access token' });
		expect(
			await credentialTest('matrixBotApi', {
				homeserverUrl: `${hs.url}/`,
				authMode: 'password',
				user: '@bot:localhost',
				password: 'bot-password',
			}),
		).toMatchObject({ status: 'OK' });
		const wrong = await credentialTest('matrixBotApi', {
			homeserverUrl: hs.url,
			authMode: 'password',
			user: 'bot',
			password: 'nope',
		});
		expect(wrong.status).toBe('Error');
		// The credential's own requests (whoami test, password login) name the package as well.
		const own = hs.requests().filter((r) => /\/(whoami|login)$/.test(r.path));
		expect(own.length).toBeGreaterThanOrEqual(4);
		expect(own.filter((r) => !/^n8n-nodes-pretix-matrix\/\d+\.\d+\.\d+/.test(r.userAgent ?? ''))).toEqual([]);
	});
});
