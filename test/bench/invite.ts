/**
 * Batch invite under a homeserver's limits: our invite engine (lib/matrix) against two naive
 * one-at-a-time inviters, each on its own fake homeserver with the same limits, in the same run.
 * Invites are counted AT THE HOMESERVER (its per-(room, user) count of invites answered 200), not
 * from what the inviters believe.
 *
 * Three groups: a homeserver with raised limits (R/s for invites and events, real time),
 * Synapse's default limits (rc_message 0.2/s shared by every invite, 0.3/s per room and per
 * inviter, 5 per invitee) on a time-scaled fake whose clock both sides share, and under the same
 * limits per-room invites against one invite to a space whose child rooms are restricted to it.
 */
import { fetchTransport } from '../../lib/http/fetch-transport';
import { MatrixClient } from '../../lib/matrix/client';
import { inviteUsers } from '../../lib/matrix/invite-engine';
import { inviteFloor } from '../../lib/matrix/pacer';
import { setUpSpace } from '../../lib/matrix/spaces';
import { startFakeHomeserver, type FakeClock, type FakeHomeserver } from '../fakes/matrix';
import {
	envInt,
	percent,
	seconds,
	sleep,
	times,
	timed,
	type BenchContext,
	type BenchOutcome,
	type BenchRow,
	type Benchmark,
} from './common';

interface Setup {
	hs: FakeHomeserver;
	token: string;
	roomId: string;
	users: string[];
}

interface Tally {
	ms: number;
	/** 429 answers to POST …/invite, counted by the homeserver. */
	rateLimited: number;
	inviteRequests: number;
	lost: number;
	duplicated: number;
}

async function setUp(count: number, perSecond: number, burst: number): Promise<Setup> {
	// The same limit per room, per inviter and for rc_message (which every invite also meets); the
	// per-invitee limit stays Synapse's.
	const hs = await startFakeHomeserver({
		rateLimits: {
			invitesPerRoom: { perSecond, burst },
			invitesPerIssuer: { perSecond, burst },
			message: { perSecond, burst },
		},
	});
	const bot = hs.createUser('eventbot');
	const roomId = hs.createRoom({ creator: bot.userId, name: 'Attendees' });
	const users = Array.from({ length: count }, (_, i) => hs.createUser(`attendee${i + 1}`).userId);
	return { hs, token: bot.accessToken, roomId, users };
}

function tally(setup: Setup, ms: number): Tally {
	let lost = 0;
	let duplicated = 0;
	for (const user of setup.users) {
		const invites = setup.hs.inviteCount(setup.roomId, user);
		if (invites === 0) lost++;
		if (invites > 1) duplicated += invites - 1;
	}
	return {
		ms,
		rateLimited: setup.hs.countRequests({ method: 'POST', path: /\/invite$/, status: 429 }),
		inviteRequests: setup.hs.countRequests({ method: 'POST', path: /\/invite$/ }),
		lost,
		duplicated,
	};
}

/**
 * What the maubot plugin does (fedora-infra/maubot-pretix-invite, `ensure_room_invitees`): read the
 * room's members once, then POST /invite for each user in turn, no pacing. mautrix-python's HTTP
 * layer retries only 502/503/504 and connection errors, so a 429 raises and the plugin logs
 * "unable to invite" and moves on: mode 'skip'. Mode 'retryOnce' is a kinder variant we grant it:
 * on 429 sleep the server's retry_after_ms once and retry once; a second failure is logged and skipped.
 */
async function naiveInvite(
	setup: Setup,
	mode: 'skip' | 'retryOnce',
	clock: Pick<FakeClock, 'sleep'> = { sleep },
): Promise<void> {
	const base = `${setup.hs.url}/_matrix/client/v3/rooms/${encodeURIComponent(setup.roomId)}`;
	const headers = { Authorization: `Bearer ${setup.token}`, 'Content-Type': 'application/json' };
	const members = (await (await fetch(`${base}/members`, { headers })).json()) as {
		chunk: Array<{ state_key: string; content: { membership: string } }>;
	};
	const present = new Set(
		members.chunk
			.filter((m) => m.content.membership === 'join' || m.content.membership === 'invite')
			.map((m) => m.state_key),
	);
	for (const user of setup.users) {
		if (present.has(user)) continue;
		const post = async () => {
			const res = await fetch(`${base}/invite`, {
				method: 'POST',
				headers,
				body: JSON.stringify({ user_id: user }),
			});
			return { status: res.status, body: (await res.json()) as { retry_after_ms?: number } };
		};
		const first = await post();
		if (first.status === 429 && mode === 'retryOnce') {
			await clock.sleep(first.body.retry_after_ms ?? 1000);
			await post();
		}
		// Any failure: "logged" and skipped, like the plugin.
	}
}

async function ours(setup: Setup, budgetMs: number): Promise<{ ms: number; notInvited: number }> {
	const client = new MatrixClient(
		setup.hs.url,
		fetchTransport(() => `Bearer ${setup.token}`),
	);
	const { value, ms } = await timed(() =>
		inviteUsers(
			client,
			setup.users.map((userId) => ({ room: setup.roomId, userId })),
			{ budgetMs },
		),
	);
	return { ms, notInvited: value.results.filter((r) => r.status !== 'invited').length };
}

export const inviteBench: Benchmark = {
	name: 'invite',
	description:
		"batch invite under a homeserver's limits (raised, and Synapse's defaults time-scaled): ours vs naive one-at-a-time",
	async run(ctx: BenchContext): Promise<BenchOutcome> {
		// BENCH_INVITE_PARTS=raised,synapse,space (default all) picks the groups.
		const parts = (process.env.BENCH_INVITE_PARTS ?? 'raised,synapse,space').split(',');
		const none: BenchOutcome = { rows: [], broken: [] };
		const raised = parts.includes('raised') ? await raisedLimitsBench(ctx) : none;
		const synapse = parts.includes('synapse') ? await synapseDefaultsBench(ctx) : none;
		const space = parts.includes('space') ? await spaceBench(ctx) : none;
		return {
			rows: [...raised.rows, ...synapse.rows, ...space.rows],
			broken: [...raised.broken, ...synapse.broken, ...space.broken],
		};
	},
};

async function raisedLimitsBench(ctx: BenchContext): Promise<BenchOutcome> {
	const count = envInt('BENCH_INVITE_COUNT', ctx.quick ? 200 : 2000);
	const perSecond = envInt('BENCH_INVITE_RATE', 10);
	const burst = envInt('BENCH_INVITE_BURST', 10);
	const floorMs = (count / perSecond) * 1000;
	// The first `burst` invites pass at once; the floor N/R rounds that away.
	const exactFloorMs = (Math.max(0, count - burst) / perSecond) * 1000;
	const bench = `invite ${count} @${perSecond}/s b${burst}`;
	const broken: string[] = [];

	const [oursSetup, retrySetup, skipSetup] = await Promise.all([
		setUp(count, perSecond, burst),
		setUp(count, perSecond, burst),
		setUp(count, perSecond, burst),
	]);
	try {
		// The skipping inviter is done in a couple of seconds; run it alone first so its burst of
		// requests does not share the CPU with the two paced runs, which then run side by side.
		ctx.log(`invite: naive (429 → skip), ${count} users`);
		const skip = tally(skipSetup, (await timed(() => naiveInvite(skipSetup, 'skip'))).ms);
		ctx.log(`invite: ours and naive (429 → retry once) side by side, floor ${seconds(floorMs)}`);
		const [oursRun, retryMs] = await Promise.all([
			ours(oursSetup, Math.max(600_000, floorMs * 3)),
			timed(() => naiveInvite(retrySetup, 'retryOnce')).then((r) => r.ms),
		]);
		const mine = tally(oursSetup, oursRun.ms);
		const retry = tally(retrySetup, retryMs);

		if (mine.lost > 0)
			broken.push(
				`invite: our engine lost ${mine.lost} of ${count} invites (not invited at the homeserver)`,
			);
		if (mine.duplicated > 0)
			broken.push(`invite: our engine sent ${mine.duplicated} duplicate invites`);
		if (oursRun.notInvited > 0)
			broken.push(`invite: our engine reported ${oursRun.notInvited} users as not invited`);

		const rows: BenchRow[] = [];
		const add = (
			label: string,
			t: Tally,
			target?: { wall: string; limited: string; lost: string },
		) => {
			rows.push(
				{
					bench,
					what: `${label}: wall time`,
					figure: seconds(t.ms),
					floor: seconds(floorMs),
					ratio: times(t.ms / floorMs),
					target: target?.wall ?? '',
					note: `${t.inviteRequests} invite requests; exact floor (N−burst)/R = ${seconds(exactFloorMs)}`,
				},
				{
					bench,
					what: `${label}: 429s per invite`,
					figure: percent(t.rateLimited / count),
					floor: '0%',
					ratio: '',
					target: target?.limited ?? '',
					note: `${t.rateLimited} × 429`,
				},
				{
					bench,
					what: `${label}: lost / duplicated`,
					figure: `${t.lost} / ${t.duplicated}`,
					floor: '0 / 0',
					ratio: '',
					target: target?.lost ?? '',
					note: 'counted at the homeserver',
				},
			);
		};
		add('ours (lib/matrix)', mine, { wall: '≤ 1.15×', limited: '< 5%', lost: '0 / 0' });
		add('naive, 429 → retry once', retry);
		add('naive, 429 → skip (maubot)', skip);
		return { rows, broken };
	} finally {
		await Promise.all([oursSetup.hs.stop(), retrySetup.hs.stop(), skipSetup.hs.stop()]);
	}
}

interface SynapseSetup {
	hs: FakeHomeserver;
	token: string;
	roomIds: string[];
	users: string[];
	/** The attendees' own access tokens (for their joins). */
	tokens: Map<string, string>;
}

/** Synapse 1.67's default limits (and no Retry-After header), on a clock `timeScale` × real time. */
async function setUpSynapse(
	people: number,
	rooms: number,
	timeScale: number,
): Promise<SynapseSetup> {
	const hs = await startFakeHomeserver({ timeScale });
	const bot = hs.createUser('eventbot');
	const roomIds = Array.from({ length: rooms }, (_, i) =>
		hs.createRoom({ creator: bot.userId, name: `Room ${i + 1}` }),
	);
	const created = Array.from({ length: people }, (_, i) => hs.createUser(`attendee${i + 1}`));
	const users = created.map((user) => user.userId);
	return { hs, token: bot.accessToken, roomIds, users, tokens: new Map(created.map((user) => [user.userId, user.accessToken])) };
}

function tallyPairs(setup: SynapseSetup, ms: number): Tally {
	let lost = 0;
	let duplicated = 0;
	for (const room of setup.roomIds)
		for (const user of setup.users) {
			const invites = setup.hs.inviteCount(room, user);
			if (invites === 0) lost++;
			if (invites > 1) duplicated += invites - 1;
		}
	return {
		ms,
		rateLimited: setup.hs.countRequests({ method: 'POST', path: /\/invite$/, status: 429 }),
		inviteRequests: setup.hs.countRequests({ method: 'POST', path: /\/invite$/ }),
		lost,
		duplicated,
	};
}

/**
 * The maubot plugin's way, room by room (`ensure_room_invitees` per mapped room), waiting on the
 * homeserver's clock so a 429's `retry_after_ms` means the same to both sides.
 */
async function naiveInviteRooms(setup: SynapseSetup, mode: 'skip' | 'retryOnce'): Promise<void> {
	for (const roomId of setup.roomIds)
		await naiveInvite(
			{ hs: setup.hs, token: setup.token, roomId, users: setup.users },
			mode,
			setup.hs.clock,
		);
}

async function oursOnClock(setup: SynapseSetup) {
	const client = new MatrixClient(
		setup.hs.url,
		fetchTransport(() => `Bearer ${setup.token}`),
	);
	const clock = setup.hs.clock;
	// The Matrix Invite node's order: each person with all their rooms. No time budget.
	const tasks = setup.users.flatMap((userId) => setup.roomIds.map((room) => ({ room, userId })));
	const started = clock.now();
	const { results, stats } = await inviteUsers(client, tasks, {
		now: clock.now,
		sleep: clock.sleep,
	});
	return {
		ms: clock.now() - started,
		notInvited: results.filter((r) => r.status !== 'invited').length,
		stats,
	};
}

/** On the homeserver's clock: time-scaled runs report the time Synapse would have taken. */
async function onClock<T>(clock: FakeClock, work: () => Promise<T>) {
	const started = clock.now();
	const value = await work();
	return { value, ms: clock.now() - started };
}

async function synapseDefaultsBench(ctx: BenchContext): Promise<BenchOutcome> {
	const people = envInt('BENCH_SYNAPSE_PEOPLE', ctx.quick ? 100 : 600);
	const timeScale = envInt('BENCH_SYNAPSE_TIME_SCALE', 100);
	const roomCounts = (process.env.BENCH_SYNAPSE_ROOMS ?? '1,3')
		.split(',')
		.map(Number)
		.filter((n) => Number.isInteger(n) && n > 0);
	const rows: BenchRow[] = [];
	const broken: string[] = [];
	for (const rooms of roomCounts) {
		const invites = people * rooms;
		const floor = inviteFloor({ invites, rooms });
		const floorMs = floor.seconds * 1000;
		const bench = `invite ${people}×${rooms} room${rooms > 1 ? 's' : ''}, Synapse defaults, time ×${timeScale}`;
		const [oursSetup, retrySetup, skipSetup] = await Promise.all([
			setUpSynapse(people, rooms, timeScale),
			setUpSynapse(people, rooms, timeScale),
			setUpSynapse(people, rooms, timeScale),
		]);
		try {
			ctx.log(
				`invite: ${people} people × ${rooms} rooms at Synapse's defaults, homeserver clock ×${timeScale}; floor ${seconds(floorMs)} (${floor.limiter}) in Synapse time`,
			);
			const skip = tallyPairs(
				skipSetup,
				(await onClock(skipSetup.hs.clock, () => naiveInviteRooms(skipSetup, 'skip'))).ms,
			);
			const realStart = performance.now();
			const [oursRun, retryMs] = await Promise.all([
				oursOnClock(oursSetup),
				onClock(retrySetup.hs.clock, () => naiveInviteRooms(retrySetup, 'retryOnce')).then(
					(r) => r.ms,
				),
			]);
			const realMs = performance.now() - realStart;
			const mine = tallyPairs(oursSetup, oursRun.ms);
			const retry = tallyPairs(retrySetup, retryMs);
			if (mine.lost > 0)
				broken.push(`${bench}: our engine lost ${mine.lost} of ${invites} invites`);
			if (mine.duplicated > 0)
				broken.push(`${bench}: our engine sent ${mine.duplicated} duplicate invites`);
			if (oursRun.notInvited > 0)
				broken.push(`${bench}: our engine reported ${oursRun.notInvited} invites as not done`);
			const add = (
				label: string,
				t: Tally,
				note: string,
				target?: { wall: string; limited: string; lost: string },
			) =>
				rows.push(
					{
						bench,
						what: `${label}: wall time (Synapse's clock)`,
						figure: seconds(t.ms),
						floor: seconds(floorMs),
						ratio: times(t.ms / floorMs),
						target: target?.wall ?? '',
						note: `${note}; floor = (N×R − burst) / rate of ${floor.limiter}; ${t.inviteRequests} invite requests`,
					},
					{
						bench,
						what: `${label}: 429s per invite`,
						figure: percent(t.rateLimited / invites),
						floor: '0%',
						ratio: '',
						target: target?.limited ?? '',
						note: `${t.rateLimited} × 429`,
					},
					{
						bench,
						what: `${label}: lost / duplicated`,
						figure: `${t.lost} / ${t.duplicated}`,
						floor: '0 / 0',
						ratio: '',
						target: target?.lost ?? '',
						note: 'counted at the homeserver',
					},
				);
			add(
				'ours (lib/matrix)',
				mine,
				`${seconds(realMs)} real; paced by ${oursRun.stats.mode}, ${oursRun.stats.probes} probes`,
				{ wall: '≤ 1.1×', limited: '', lost: '0 / 0' },
			);
			add('naive, 429 → retry once', retry, 'side by side with ours');
			add('naive, 429 → skip (maubot)', skip, 'run alone first');
		} finally {
			await Promise.all([oursSetup.hs.stop(), retrySetup.hs.stop(), skipSetup.hs.stop()]);
		}
	}
	return { rows, broken };
}

/**
 * Issue 18: N attendees into K rooms at Synapse's defaults, two ways side by side on two
 * time-scaled homeservers: an invite per room (K per attendee), or one invite to a space whose K
 * children the bot first makes restricted to it (`setUpSpace`: K `m.space.child` and K join-rule
 * events, which meet rc_message like invites). Both floors are `inviteFloor` with the same limits;
 * the space's counts its 2K state events as `notices`. A few attendees then join the space and a
 * child (their own joins, no invite): checked, not timed.
 */
async function spaceBench(ctx: BenchContext): Promise<BenchOutcome> {
	const people = envInt('BENCH_SPACE_PEOPLE', ctx.quick ? 100 : 600);
	const rooms = envInt('BENCH_SPACE_ROOMS', 4);
	const timeScale = envInt('BENCH_SYNAPSE_TIME_SCALE', 100);
	const bench = `invite ${people} attendees × ${rooms} rooms, Synapse defaults, time ×${timeScale}`;
	const rows: BenchRow[] = [];
	const broken: string[] = [];
	const perRoomFloor = inviteFloor({ invites: people * rooms, rooms });
	const spaceFloor = inviteFloor({ invites: people, rooms: 1, notices: 2 * rooms });
	const [perRoom, spaced] = await Promise.all([setUpSynapse(people, rooms, timeScale), setUpSynapse(people, rooms, timeScale)]);
	try {
		// The bot creates the space, as it created the rooms: it has the power to set it up.
		const botUserId = await whoami(spaced);
		const spaceId = spaced.hs.createRoom({ creator: botUserId, roomType: 'm.space', name: 'Event space' });
		ctx.log(
			`invite: ${people} attendees × ${rooms} rooms at Synapse's defaults, clock ×${timeScale}: per-room invites (floor ${seconds(perRoomFloor.seconds * 1000)}) vs one space invite (floor ${seconds(spaceFloor.seconds * 1000)}) in Synapse time`,
		);
		const realStart = performance.now();
		const [perRoomRun, spaceRun] = await Promise.all([
			oursOnClock(perRoom),
			onClock(spaced.hs.clock, async () => {
				const client = new MatrixClient(spaced.hs.url, fetchTransport(() => `Bearer ${spaced.token}`));
				const clock = spaced.hs.clock;
				const setup = await setUpSpace(client, spaceId, spaced.roomIds, {
					botUserId,
					retry: { deadline: Infinity, now: clock.now, sleep: clock.sleep },
				});
				const invited = await oursOnClock({ ...spaced, roomIds: [spaceId] });
				return { setup, invited };
			}),
		]);
		const realMs = performance.now() - realStart;
		const perRoomTally = tallyPairs(perRoom, perRoomRun.ms);
		const spaceTally = tallyPairs({ ...spaced, roomIds: [spaceId] }, spaceRun.ms);
		const childInvites = spaced.roomIds.reduce((sum, room) => sum + spaced.users.reduce((n, user) => n + spaced.hs.inviteCount(room, user), 0), 0);
		if (spaceRun.value.setup.changed !== rooms) broken.push(`${bench}: the space set-up changed ${spaceRun.value.setup.changed} of ${rooms} rooms`);
		if (childInvites > 0) broken.push(`${bench}: ${childInvites} invites into the space's child rooms`);
		for (const [label, t, run] of [
			['per-room', perRoomTally, perRoomRun.notInvited],
			['space', spaceTally, spaceRun.value.invited.notInvited],
		] as const) {
			if (t.lost > 0) broken.push(`${bench}: ${label} lost ${t.lost} invites`);
			if (t.duplicated > 0) broken.push(`${bench}: ${label} sent ${t.duplicated} duplicate invites`);
			if (run > 0) broken.push(`${bench}: ${label} reported ${run} invites as not done`);
		}
		// Restricted joins: a few attendees accept the space invite and join every child, uninvited.
		for (const userId of spaced.users.slice(0, 3)) {
			spaced.hs.setMembership(spaceId, userId, 'join', { sender: userId });
			for (const room of spaced.roomIds) {
				const status = await joinAs(spaced, userId, room);
				if (status !== 200) broken.push(`${bench}: an attendee of the space could not join a child room (${status})`);
			}
		}
		// Invites answered 200 at the homeserver: every (room, attendee) pair once, plus duplicates.
		const invitesAnswered = (t: Tally, pairs: number) => pairs - t.lost + t.duplicated;
		const add = (label: string, t: Tally, inviteRooms: number, floorSeconds: number, limiter: string, note: string) =>
			rows.push(
				{
					bench,
					what: `${label}: wall time (Synapse's clock)`,
					figure: seconds(t.ms),
					floor: seconds(floorSeconds * 1000),
					ratio: times(t.ms / (floorSeconds * 1000)),
					target: '',
					note: `${note}; floor = (actions − burst) / rate of ${limiter}`,
				},
				{
					bench,
					what: `${label}: invites per attendee`,
					figure: (invitesAnswered(t, inviteRooms) / people).toFixed(2),
					floor: '',
					ratio: '',
					target: '',
					note: `${t.inviteRequests} invite requests, ${t.rateLimited} × 429`,
				},
				{
					bench,
					what: `${label}: lost / duplicated`,
					figure: `${t.lost} / ${t.duplicated}`,
					floor: '0 / 0',
					ratio: '',
					target: '',
					note: 'counted at the homeserver',
				},
			);
		add('ours, an invite per room', perRoomTally, people * rooms, perRoomFloor.seconds, perRoomFloor.limiter, `${people * rooms} invites`);
		add(
			'ours, one invite to the space',
			spaceTally,
			people,
			spaceFloor.seconds,
			spaceFloor.limiter,
			`${2 * rooms} state events to set up the space, then ${people} invites; ${childInvites} into child rooms; ${seconds(realMs)} real for both`,
		);
		return { rows, broken };
	} finally {
		await Promise.all([perRoom.hs.stop(), spaced.hs.stop()]);
	}
}

async function whoami(setup: SynapseSetup): Promise<string> {
	const res = await fetch(`${setup.hs.url}/_matrix/client/v3/account/whoami`, { headers: { authorization: `Bearer ${setup.token}` } });
	return ((await res.json()) as { user_id: string }).user_id;
}

/** An attendee's own join (POST /join), as their client sends it; the fake's token for them. */
async function joinAs(setup: SynapseSetup, userId: string, roomId: string): Promise<number> {
	const token = setup.tokens.get(userId);
	const res = await fetch(`${setup.hs.url}/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {
		method: 'POST',
		headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
		body: '{}',
	});
	return res.status;
}
