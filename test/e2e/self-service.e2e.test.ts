/**
 * Attendees without a Matrix account and self-service access (issue 15), in a real n8n 2.x with the
 * shipped templates, against the fake pretix, the fake homeserver (with Synapse's registration
 * tokens) and a local SMTP sink: registration tokens from chat, a token by e-mail for a ticket
 * without an account (gone on cancellation), an invite code redeemed into three rooms with one
 * failing, and seats claimed with the order link — refusals and throttling included. Asserts at
 * the homeserver and the sink who got what — and who did not.
 */
import { startDemoServices, type DemoServices } from '../../scripts/demo';
import { templateCredentials } from '../../scripts/template-credentials';
import { startSmtpSink, type SmtpSink } from '../fakes/smtp';
import { delay, N8nInstance, runData, type WorkflowImport } from '../harness/n8n';
import { botMessages, command, loadTemplates, WEBHOOK_SECRET } from './support';

type Json = Record<string, unknown>;
type TemplateNode = { name: string; type: string; webhookId?: string; parameters: Record<string, unknown> };

const TEMPLATES = ['pretixMatrixRoomMapping', 'pretixMatrixRegistrationTokens', 'pretixMatrixTicketTokens', 'pretixMatrixInviteCodes', 'pretixMatrixClaimSeat'];
const UNKNOWN = /^I found no ticket with that order code and secret/;

describe('self-service access (real n8n): registration tokens, invite codes, seat claims', () => {
	let services: DemoServices;
	let n8n: N8nInstance;
	let smtp: SmtpSink;
	let templates: WorkflowImport[];
	const users = new Map<string, { userId: string; accessToken: string }>();

	const hs = () => services.homeserver;
	const membership = (room: string, user: string) => hs().membership(room, user) ?? 'none';
	const user = (name: string) => {
		if (!users.has(name)) users.set(name, hs().createUser(name, { password: `${name}-Passw0rd` }));
		return users.get(name)!;
	};

	/** The person opens a direct message with the bot as Element does, and waits until the bot joined. */
	async function openDm(name: string): Promise<string> {
		const person = user(name);
		const response = await fetch(`${services.homeserverUrl}/_matrix/client/v3/createRoom`, {
			method: 'POST',
			headers: { Authorization: `Bearer ${person.accessToken}`, 'Content-Type': 'application/json' },
			body: JSON.stringify({ is_direct: true, preset: 'trusted_private_chat', invite: [services.botUserId] }),
		});
		const { room_id: room } = (await response.json()) as { room_id: string };
		const deadline = Date.now() + 60_000;
		while (membership(room, services.botUserId) !== 'join') {
			if (Date.now() > deadline) throw new Error(`The bot did not join the direct message:\n${n8n.logs().slice(-2000)}`);
			await delay(200);
		}
		return room;
	}

	/** Types into a room as `sender` and waits for the bot's replies there. */
	async function say(sender: string, room: string, text: string, expectReplies = 1): Promise<string[]> {
		const before = botMessages(services, room).length;
		hs().say(sender, room, text);
		const deadline = Date.now() + 120_000;
		while (botMessages(services, room).length < before + expectReplies) {
			if (Date.now() > deadline) throw new Error(`No reply to "${text.split(' ')[0]}":\n${n8n.logs().slice(-3000)}`);
			await delay(200);
		}
		await delay(1200); // a further reply would be a double reply: give it time to show up
		return botMessages(services, room).slice(before);
	}

	/** Registers an account with a registration token, as a client does (register.py, UIA stages). */
	async function register(name: string, token: string): Promise<{ userId: string; accessToken: string }> {
		const post = async (body: Json) => {
			const response = await fetch(`${services.homeserverUrl}/_matrix/client/v3/register`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
			return { status: response.status, body: (await response.json()) as Json };
		};
		const account = { username: name, password: `${name}-Passw0rd` };
		const { body: challenge } = await post(account);
		const session = String(challenge.session);
		expect((await post({ ...account, auth: { type: 'm.login.registration_token', token, session } })).status).toBe(401);
		const done = await post({ ...account, auth: { type: 'm.login.dummy', session } });
		expect(done.status).toBe(200);
		const person = { userId: String(done.body.user_id), accessToken: String(done.body.access_token) };
		users.set(name, person);
		return person;
	}

	/** pretix tells the ticket-token template about a change; waits for its execution to finish. */
	async function notify(action: string, code: string): Promise<void> {
		const sent = services.pretix.notify(action, { event: 'summit26', code });
		expect(await Promise.all(sent.deliveries.map((d) => d.done))).toEqual(['delivered']);
		const deadline = Date.now() + 90_000;
		while (Date.now() < deadline) {
			const runs = (await n8n.executions('pretixMatrixTicketTokens', true)).filter((e) => runData(e, 'pretix webhook').some((item) => item.notificationId === sent.notificationId));
			if (runs.some((e) => e.finished || e.status === 'success' || e.status === 'error')) {
				expect(runs.map((e) => e.status)).toEqual(['success']);
				return;
			}
			await delay(300);
		}
		throw new Error(`No finished ticket-token execution for ${action}:\n${n8n.logs().slice(-3000)}`);
	}

	/** A paid one-ticket order (like ABC3K) with the given Matrix ID answer ('' = none) and e-mail. */
	function newOrder(answer: string, email = 'guest@example.org', status = 'p'): Json & { code: string; secret: string; url: string; positions: Json[] } {
		const order = services.pretix.copyOrder({ status, email }) as Json & { code: string; secret: string; url: string; positions: Json[] };
		services.pretix.setAnswer(order.code, Number(order.positions[0].id), answer || undefined);
		services.pretix.updateOrder(order.code, (o) => ((o.positions as Json[])[0].attendee_email = email));
		return order;
	}

	beforeAll(async () => {
		services = await startDemoServices();
		// This file is about who gets in, not how fast (the bench and reliability suites measure that).
		hs().exemptFromRateLimits(services.botUserId);
		smtp = await startSmtpSink();
		const admin = hs().createUser('synapse-admin', { admin: true });
		templates = loadTemplates(services, { only: TEMPLATES });
		// The organizer is a bot admin of the registration-token commands, as the set-up note asks.
		const tokens = templates.find((w) => w.id === 'pretixMatrixRegistrationTokens')!;
		(tokens.nodes as TemplateNode[]).find((n) => n.name === 'Commands')!.parameters.allowlist = services.organizer.userId;
		n8n = await N8nInstance.start({ label: 'self-service', credentials: templateCredentials(services, { matrixAdminToken: admin.accessToken, smtp: { host: '127.0.0.1', port: smtp.port } }), workflows: templates });
		const trigger = (templates.find((w) => w.id === 'pretixMatrixTicketTokens')!.nodes as TemplateNode[]).find((n) => n.type.endsWith('.pretixTrigger'))!;
		services.pretix.addWebhook({ target_url: n8n.webhookUrl(`${trigger.webhookId}/pretix/${WEBHOOK_SECRET}`), action_types: ['pretix.event.order.*'] });
		await delay(3000);
		expect(await command(services, n8n, services.attendeesRoom, `!setroom ${services.pretixUrl}/exampleorg/summit26/`)).toEqual([expect.stringContaining('exampleorg/summit26')]);
	}, 300_000);

	afterAll(async () => {
		await n8n?.destroy();
		await smtp?.stop();
		await services?.stop();
	});

	test('an organizer creates, lists, shows and deletes registration tokens from chat; nobody else may', async () => {
		const room = services.organizersRoom;
		const [created] = await command(services, n8n, room, '!token create 3 10');
		const token = /`([A-Za-z0-9._~-]+)`/.exec(created)?.[1] ?? '';
		expect(created).toMatch(/^Registration token `.+`: 3 of 3 uses left · expires \d{4}-\d\d-\d\d \d\d:\d\d UTC\.$/);
		expect(hs().admin.token(token)).toMatchObject({ uses_allowed: 3, pending: 0, completed: 0 });
		const [spare] = await command(services, n8n, room, '!token create unlimited never');
		const spareToken = /`([A-Za-z0-9._~-]+)`/.exec(spare)?.[1] ?? '';
		expect(spare).toContain('unlimited uses · does not expire');

		const [list] = await command(services, n8n, room, '!token list');
		expect(list).toMatch(/^2 registration tokens:/);
		expect(list).toContain(`\`${token}\` — 3 of 3 uses left`);
		expect(list).toContain(`\`${spareToken}\` — unlimited uses`);
		const [show] = await command(services, n8n, room, `!token show ${token} nosuchtoken`);
		expect(show).toContain(`\`${token}\` — 3 of 3 uses left`);
		expect(show).toContain('`nosuchtoken` — no such token');

		// A moderator of the room who is no bot admin is told so and learns nothing.
		const helper = user('helper');
		hs().setMembership(room, helper.userId, 'join');
		hs().setPowerLevel(room, helper.userId, 50);
		const refused = await say(helper.userId, room, '!token list');
		expect(refused).toEqual(['Only bot admins may manage registration tokens.']);

		const [deleted] = await command(services, n8n, room, `!token delete ${token}`);
		expect(deleted).toContain(`\`${token}\` — deleted`);
		expect(hs().admin.token(token)).toBeUndefined();
		expect(hs().admin.token(spareToken)).toBeDefined();
		const [confirm] = await command(services, n8n, room, '!token delete-all');
		expect(confirm).toBe('This deletes 1 registration token (ticket tokens stay). To confirm, send `!token delete-all 1`.');
		expect(hs().admin.token(spareToken)).toBeDefined();
		const [all] = await command(services, n8n, room, '!token delete-all 1');
		expect(all).toBe('Deleted 1 registration token. Ticket tokens stay.');
		expect(hs().admin.allTokens()).toEqual([]);
	});

	test('a ticket without a Matrix account gets one token by e-mail (seen at the SMTP sink), registers with it and claims the seat; the token goes with the cancellation; a ticket with an ID gets none', async () => {
		const order = newOrder('', 'no-account@example.org');
		const withId = newOrder('@dave:example.org', 'dave@example.org');
		await notify('pretix.event.order.paid', order.code);
		await notify('pretix.event.order.paid', withId.code);
		const [mail] = await smtp.waitFor((messages) => messages.some((m) => m.to.includes('no-account@example.org')));
		expect(smtp.to('no-account@example.org')).toHaveLength(1);
		expect(smtp.to('dave@example.org')).toEqual([]);
		const token = /\b(ticket-[A-Za-z0-9]{16})\b/.exec(mail.text)?.[1] ?? '';
		expect(mail.subject).toBe('Your Matrix account for exampleorg/summit26');
		expect(mail.text).toContain(`https://app.cinny.in/register/matrix.example.org?token=${token}`);
		expect(mail.text).toContain('!claim <link to your order>');
		expect(hs().admin.token(token)).toMatchObject({ uses_allowed: 1, completed: 0 });
		expect(Number(hs().admin.token(token)?.expiry_time)).toBeGreaterThan(Date.now());
		// pretix delivers a change of the same order again: no second token, no second e-mail.
		await notify('pretix.event.order.modified', order.code);
		expect(smtp.to('no-account@example.org')).toHaveLength(1);
		expect(hs().admin.allTokens().filter((t) => t.token.startsWith('ticket-'))).toHaveLength(1);

		// The attendee registers with the token (Synapse's m.login.registration_token flow), then claims the seat.
		const newcomer = await register('newcomer', token);
		expect(hs().admin.token(token)).toMatchObject({ uses_allowed: 1, pending: 0, completed: 1 });
		const [stats] = await command(services, n8n, services.attendeesRoom, '!stats');
		expect(stats).toBe('Registration tokens for tickets without a Matrix account: 1 sent, 1 used to register, 0 not used yet.');
		const dm = await openDm('newcomer');
		expect(await say(newcomer.userId, dm, `!claim ${order.url}`)).toEqual(['Welcome! The ticket is yours now: I invited you into 1 room — look at your invites.']);
		expect(membership(services.attendeesRoom, newcomer.userId)).toBe('invite');

		services.pretix.cancelOrder(order.code);
		await notify('pretix.event.order.canceled', order.code);
		expect(hs().admin.token(token)).toBeUndefined();
		});

	test('an invite code is redeemed in a direct message into 3 rooms, one failing: the other two invite, the organizers hear of the third', async () => {
		const organizer = services.organizer.userId;
		const powers = (invite: number) => ({ users: { [organizer]: 100, [services.botUserId]: 50 }, invite, kick: 50 });
		const rooms = [hs().createRoom({ creator: organizer, name: 'Hall', members: [services.botUserId], powerLevels: powers(50) }), hs().createRoom({ creator: organizer, name: 'Workshop', members: [services.botUserId], powerLevels: powers(50) }), hs().createRoom({ creator: organizer, name: 'Backstage', members: [services.botUserId], powerLevels: powers(100) })];
		const [created] = await command(services, n8n, services.attendeesRoom, `!invitecode create ${rooms.join(' ')} 5 7`);
		const code = /`([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})`/.exec(created)?.[1] ?? '';
		expect(created).toMatch(/^Invite code `[A-Z0-9-]{14}` \(ID .+, exampleorg\/summit26\): 3 rooms · 0 of 5 uses · expires .* UTC\./);

		const guest = user('codeguest');
		const dm = await openDm('codeguest');
		const organizersBefore = botMessages(services, services.organizersRoom).length;
		const [redeemed] = await say(guest.userId, dm, `!redeem ${code.toLowerCase()}`);
		expect(redeemed).toBe('Done: you are invited into 2 rooms — look at your invites. 1 room could not invite you; the organizers know.');
		expect(rooms.map((r) => membership(r, guest.userId))).toEqual(['invite', 'invite', 'none']);
		const reports = botMessages(services, services.organizersRoom).slice(organizersBefore);
		expect(reports).toHaveLength(1);
		expect(reports[0]).toContain(rooms[2]);
		expect(reports[0]).not.toContain(rooms[0]);
		expect(reports[0]).not.toContain(guest.userId);

		// Inspecting shows the use; redeeming again invites nobody twice and counts no second use.
		const [shown] = await command(services, n8n, services.attendeesRoom, `!invitecode show ${code}`);
		expect(shown).toContain('1 of 5 uses');
		const [again] = await say(guest.userId, dm, `!redeem ${code}`);
		expect(again).toBe('Nothing new to invite you to. 2 rooms had invited you before. 1 room could not invite you; the organizers know.');
		expect(rooms.map((r) => hs().inviteCount(r, guest.userId))).toEqual([1, 1, 0]);
		const [listed] = await command(services, n8n, services.attendeesRoom, '!invitecode list');
		expect(listed).toMatch(/^1 invite code .*\n.* · exampleorg\/summit26 · .* · 3 rooms · 1 of 5 uses/);
		expect(listed).not.toContain(code);

		// Revoked: the next person is refused, those invited stay.
		const id = /ID ([^,]+),/.exec(created)?.[1] ?? '';
		expect((await command(services, n8n, services.attendeesRoom, `!invitecode revoke ${id}`))[0]).toMatch(/^Revoked invite code/);
		const late = user('lateguest');
		const lateDm = await openDm('lateguest');
		expect(await say(late.userId, lateDm, `!redeem ${code}`)).toEqual(['That invite code was revoked.']);
		expect(rooms.map((r) => membership(r, late.userId))).toEqual(['none', 'none', 'none']);
		expect(membership(rooms[0], guest.userId)).toBe('invite');
	});

	test('seat claims: the right link invites the sender once; a wrong secret, a canceled ticket and a second account are refused', async () => {
		const room = services.attendeesRoom;
		const order = newOrder('');
		const claimer = user('claimer');
		const dm = await openDm('claimer');
		const [welcome] = await say(claimer.userId, dm, `!claim ${order.url}`);
		expect(welcome).toBe('Welcome! The ticket is yours now: I invited you into 1 room — look at your invites.');
		expect(membership(room, claimer.userId)).toBe('invite');
		const [again] = await say(claimer.userId, dm, `!claim ${order.code} ${order.secret}`);
		expect(again).toBe('The ticket is yours; you were invited before (check your invites).');
		expect(hs().inviteCount(room, claimer.userId)).toBe(1);

		// A wrong secret gets exactly the answer of an order code that does not exist.
		const guesser = user('guesser');
		const guesserDm = await openDm('guesser');
		const [wrong] = await say(guesser.userId, guesserDm, `!claim ${order.code} ${order.secret.slice(0, -2)}zz`);
		const [unknown] = await say(guesser.userId, guesserDm, `!claim ZZZZZ ${order.secret}`);
		expect(wrong).toMatch(UNKNOWN);
		expect(unknown).toBe(wrong);
		expect(membership(room, guesser.userId)).toBe('none');

		// A second account with the right link: refused; the organizers hear of it by order code; the holder stays.
		const second = user('secondaccount');
		const secondDm = await openDm('secondaccount');
		const organizersBefore = botMessages(services, services.organizersRoom).length;
		expect(await say(second.userId, secondDm, `!claim ${order.url}`)).toEqual([expect.stringMatching(/^This ticket is already used by another Matrix account/)]);
		expect(membership(room, second.userId)).toBe('none');
		expect(membership(room, claimer.userId)).toBe('invite');
		const reports = botMessages(services, services.organizersRoom).slice(organizersBefore);
		expect(reports).toEqual([expect.stringContaining(`Order ${order.code}: a second Matrix account tried to claim`)]);
		expect(reports[0]).not.toContain(second.userId);

		// A canceled ticket grants nothing.
		const canceled = newOrder('');
		services.pretix.cancelOrder(canceled.code);
		const late = user('canceledholder');
		const lateDm = await openDm('canceledholder');
		expect(await say(late.userId, lateDm, `!claim ${canceled.url}`)).toEqual(['This ticket is canceled or no longer valid, so it grants no rooms.']);
		expect(membership(room, late.userId)).toBe('none');

		// Outside a direct message (an event room, even with only the organizer joined) the bot asks for one.
		expect(await command(services, n8n, room, '!claim ABCDE abcdefgh12')).toEqual(['Please send `!claim` to me in a direct message: the link to your order is a secret.']);
	});

	test('20 wrong guesses in a row: the first 10 are answered as unknown, the rest are throttled', async () => {
		const target = newOrder('');
		const attacker = user('bruteforce');
		const dm = await openDm('bruteforce');
		const replies: string[] = [];
		for (let n = 0; n < 20; n++) replies.push(...(await say(attacker.userId, dm, `!claim ${target.code} wrongsecret${String(n).padStart(2, '0')}`)));
		expect(replies).toHaveLength(20);
		expect(replies.slice(0, 10).every((r) => UNKNOWN.test(r))).toBe(true);
		expect(replies.slice(10)).toEqual(Array(10).fill('Too many attempts. Please wait an hour before you try again, or ask the organizers.'));
		// Even the right secret is throttled now, for this sender and for this order code.
		expect(await say(attacker.userId, dm, `!claim ${target.url}`)).toEqual(['Too many attempts. Please wait an hour before you try again, or ask the organizers.']);
		expect(membership(services.attendeesRoom, attacker.userId)).toBe('none');
	});

	test('n8n\'s log carries no order secret, registration token or attendee Matrix ID', () => {
		const log = n8n.logs();
		for (const name of users.keys()) expect(log).not.toContain(`@${name}:`);
		for (const token of hs().admin.allTokens().map((t) => t.token)) expect(log).not.toContain(token);
		expect(log).not.toMatch(/\/order\/[A-Z0-9]{5}\/[a-z0-9]{16}/);
	});
});
