/**
 * Setting up a space (issue 18, `!setroom … --space`), against the fake homeserver's copy of the
 * spec's "Spaces" (`m.space.child` with `via`) and "Restricted rooms" rules (room versions 8+,
 * `allow: [{type: 'm.room_membership', room_id: <space>}]`, Synapse's check_restricted_join_rules)
 * and of Synapse's power check for state events (`events[type]`, else `state_default`). Every test
 * also checks what was not touched.
 */
import { fetchTransport } from '../../../lib/http/fetch-transport';
import { MatrixClient } from '../../../lib/matrix/client';
import { setUpSpace, spaceSetupLines, stateEventLevel, supportsRestrictedJoins } from '../../../lib/matrix/spaces';
import { startFakeHomeserver, type FakeHomeserver } from '../../fakes/matrix';

const retry = { deadline: Infinity, maxRetries: 0 };

/** A room's current state, by event ID: unchanged when no state event was sent. */
const stateIds = (hs: FakeHomeserver, room: string) => hs.roomState(room).map((e) => e.event_id).join(',');

async function join(hs: FakeHomeserver, token: string, roomId: string): Promise<number> {
	const res = await fetch(`${hs.url}/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {
		method: 'POST',
		headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
		body: '{}',
	});
	return res.status;
}

describe('levels and versions', () => {
	test('a state event needs events[type], else state_default, else 50 (0 in a room without power levels)', () => {
		expect(stateEventLevel({ events: { 'm.room.join_rules': 100 }, state_default: 50 }, 'm.room.join_rules')).toBe(100);
		expect(stateEventLevel({ state_default: 75 }, 'm.space.child')).toBe(75);
		expect(stateEventLevel({}, 'm.space.child')).toBe(50);
		expect(stateEventLevel({ withoutEvent: true }, 'm.space.child')).toBe(0);
	});
	test('restricted joins exist from room version 8 (spec room versions)', () => {
		expect(['1', '7'].map(supportsRestrictedJoins)).toEqual([false, false]);
		expect(['8', '10', '12'].map(supportsRestrictedJoins)).toEqual([true, true, true]);
	});
});

describe('setUpSpace', () => {
	let hs: FakeHomeserver;
	afterEach(() => hs.stop());

	async function setUp() {
		hs = await startFakeHomeserver({ rateLimits: false });
		const bot = hs.createUser('bot');
		const mod = hs.createUser('mod');
		const attendee = hs.createUser('attendee');
		const client = new MatrixClient(hs.url, fetchTransport(() => `Bearer ${bot.accessToken}`));
		const space = hs.createRoom({ creator: mod.userId, roomType: 'm.space', members: [bot.userId], alias: '#conf:localhost' });
		const room = (alias: string, options: { roomVersion?: string; botLevel?: number } = {}) => {
			const id = hs.createRoom({ creator: mod.userId, members: [bot.userId], alias, roomVersion: options.roomVersion });
			hs.setPowerLevel(id, bot.userId, options.botLevel ?? 100);
			return id;
		};
		hs.setPowerLevel(space, bot.userId, 100);
		return { bot, mod, attendee, client, space, talks: room('#talks:localhost'), hallway: room('#hallway:localhost', { botLevel: 0 }), old: room('#old:localhost', { roomVersion: '7' }), unrelated: room('#unrelated:localhost') };
	}

	test('children added with via, restricted where the bot has the power; the rest reported unchanged; an unrelated room untouched', async () => {
		const { bot, attendee, client, space, talks, hallway, old, unrelated } = await setUp();
		const unrelatedState = stateIds(hs, unrelated);
		const setup = await setUpSpace(client, '#conf:localhost', ['#talks:localhost', '#hallway:localhost', '#old:localhost', '#nowhere:localhost', space, '#talks:localhost'], { botUserId: bot.userId, retry });

		expect(setup.children.map((c) => [c.room, c.problem ?? c.link, c.restriction])).toEqual([
			['#talks:localhost', 'added', 'changed'],
			['#hallway:localhost', 'added', 'noPower'],
			['#old:localhost', 'added', 'roomVersionTooOld'],
			['#nowhere:localhost', 'roomNotFound', undefined],
			[space, 'isTheSpace', undefined],
		]);
		expect({ changed: setup.changed, unchanged: setup.unchanged, failed: setup.failed }).toEqual({ changed: 1, unchanged: 0, failed: 4 });
		const childEvent = (child: string) => hs.roomState(space).find((e) => e.type === 'm.space.child' && e.state_key === child);
		for (const child of [talks, hallway, old]) expect(childEvent(child)?.content).toEqual({ via: ['localhost'] });
		expect(childEvent(unrelated)).toBeUndefined();
		const joinRule = (room: string) => hs.roomState(room).find((e) => e.type === 'm.room.join_rules')?.content;
		expect(joinRule(talks)).toEqual({ join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: space }] });
		expect(joinRule(hallway)?.join_rule).not.toBe('restricted');
		expect(joinRule(old)?.join_rule).not.toBe('restricted');
		expect(stateIds(hs, unrelated)).toBe(unrelatedState);

		// The lines say what changed and what not, naming rooms only.
		const lines = spaceSetupLines(setup);
		expect(lines[0]).toMatch(/^✅ #talks:localhost: added to the space; now restricted to the space \(was (invite|public)\)/);
		expect(lines[1]).toMatch(/^⚠️ #hallway:localhost: added to the space; join rule unchanged.*power level is too low \(needs 50\)/);
		expect(lines[2]).toMatch(/room version is too old/);
		expect(lines.join('\n')).not.toContain(attendee.userId);

		// Restricted joins (Synapse check_restricted_join_rules): a member of the space joins #talks
		// without an invite; #hallway still needs one.
		hs.setMembership(space, attendee.userId, 'join');
		expect(await join(hs, attendee.accessToken, talks)).toBe(200);
		expect(hs.inviteCount(talks, attendee.userId)).toBe(0);
		expect(await join(hs, attendee.accessToken, hallway)).toBe(403);
		expect(await join(hs, attendee.accessToken, unrelated)).toBe(403);
	});

	test('running it again changes nothing; an existing allow entry is kept', async () => {
		const { bot, client, space, talks } = await setUp();
		hs.setState(talks, 'm.room.join_rules', { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '!other:localhost' }] });
		const first = await setUpSpace(client, space, [talks], { botUserId: bot.userId, retry });
		expect(first.children.map((c) => [c.link, c.restriction, c.joinRuleBefore])).toEqual([['added', 'changed', 'restricted']]);
		expect(hs.roomState(talks).find((e) => e.type === 'm.room.join_rules')?.content.allow).toEqual([
			{ type: 'm.room_membership', room_id: '!other:localhost' },
			{ type: 'm.room_membership', room_id: space },
		]);
		const events = hs.timeline(talks).length + hs.timeline(space).length;
		const again = await setUpSpace(client, space, [talks], { botUserId: bot.userId, retry });
		expect(again.children.map((c) => [c.link, c.restriction])).toEqual([['already', 'already']]);
		expect({ changed: again.changed, unchanged: again.unchanged }).toEqual({ changed: 0, unchanged: 1 });
		expect(hs.timeline(talks).length + hs.timeline(space).length).toBe(events);
	});

	test('on behalf of someone: only rooms where they could make the change themselves', async () => {
		const { bot, client, space, talks } = await setUp();
		const helper = hs.createUser('helper');
		hs.setMembership(space, helper.userId, 'join');
		hs.setPowerLevel(space, helper.userId, 50);
		// A moderator of the space but not of #talks: #talks becomes a child, its join rule stays.
		const setup = await setUpSpace(client, space, [talks], { botUserId: bot.userId, onBehalfOf: helper.userId, retry });
		expect(setup.children.map((c) => [c.link, c.restriction])).toEqual([['added', 'notAllowed']]);
		expect(hs.roomState(talks).find((e) => e.type === 'm.room.join_rules')?.content.join_rule).not.toBe('restricted');
		expect(spaceSetupLines(setup)[0]).toContain("you may not change this room's join rule");
		// Not even a moderator of the space: nothing changes in the space either.
		const stranger = hs.createUser('stranger');
		const other = await setUpSpace(client, space, [talks], { botUserId: bot.userId, onBehalfOf: stranger.userId, retry });
		expect(other.children.map((c) => c.restriction)).toEqual(['notAllowed']);
	});

	test('a room that is not a space is refused and left alone', async () => {
		const { bot, client, talks, hallway } = await setUp();
		const before = stateIds(hs, talks);
		const setup = await setUpSpace(client, talks, [hallway], { botUserId: bot.userId, retry });
		expect(setup.problem).toBe('notASpace');
		expect(spaceSetupLines(setup)).toEqual(['This room is not a space: type the command in the space (a room created as a space).']);
		expect(stateIds(hs, talks)).toBe(before);
	});
});
