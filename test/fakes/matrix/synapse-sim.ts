/**
 * Synapse's invite and message path without HTTP, for virtual-time tests of whole invite runs: the
 * same limiter classes and order as the fake homeserver (rate-limits.ts `chargeInvite`, then
 * `chargeEvent` after the membership checks), behind an in-memory HttpTransport that answers the
 * few endpoints the invite engine uses. Rooms have the bot joined with power 100; everyone else is
 * a stranger until invited.
 */
import type { HttpRequest, HttpResponse, HttpTransport } from '../../../lib/http/types';
import type { FakeClock } from './clock';
import { HttpError } from './errors';
import type { RateLimitOptions } from './rate-limit';
import { HomeserverRateLimits } from './rate-limits';

export interface SimulatedSynapse {
	transport: HttpTransport;
	limits: HomeserverRateLimits;
	/** Invites answered 200, per room and user. */
	inviteCount(roomId: string, userId: string): number;
	/** Every POST …/invite answer in order: [invitee, status, retry_after_ms]. */
	invites: Array<[string, number, number | undefined]>;
	/** Remote servers that do not answer (502 after `unreachableDelayMs`). */
	unreachable: Set<string>;
}

export function simulatedSynapse(options: {
	clock: FakeClock;
	bot: string;
	rooms: string[];
	rateLimits?: RateLimitOptions | false;
	unreachableDelayMs?: number;
}): SimulatedSynapse {
	const { clock, bot } = options;
	const server = bot.slice(bot.indexOf(':') + 1);
	const limits = new HomeserverRateLimits(clock, () => ({ retryAfterHeader: false, pauseMs: 0 }));
	limits.configure(options.rateLimits ?? {});
	const members = new Map(options.rooms.map((room) => [room, new Map([[bot, 'join']])]));
	const counts = new Map<string, number>();
	const invites: SimulatedSynapse['invites'] = [];
	const unreachable = new Set<string>();
	const json = <T>(status: number, body: unknown): HttpResponse<T> => ({
		status,
		headers: { 'content-type': 'application/json' },
		body: body as T,
	});
	const answer = async <T>(request: HttpRequest): Promise<HttpResponse<T>> => {
		const path = decodeURIComponent(new URL(request.url).pathname).replace(
			/^\/_matrix\/client\/v3/,
			'',
		);
		if (path === '/account/whoami') return json(200, { user_id: bot, device_id: 'SIM' });
		const room = /^\/rooms\/([^/]+)\/(.*)$/.exec(path);
		const roomMembers = room ? members.get(room[1]) : undefined;
		if (!room || !roomMembers)
			return json(404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
		const [, roomId, rest] = room;
		if (request.method === 'GET' && rest === 'members')
			return json(200, {
				chunk: [...roomMembers].map(([user, membership]) => ({
					type: 'm.room.member',
					state_key: user,
					sender: bot,
					content: { membership },
				})),
			});
		if (request.method === 'GET' && rest === 'state/m.room.power_levels/')
			return json(200, { users: { [bot]: 100 }, invite: 0 });
		const member = /^state\/m\.room\.member\/(.+)$/.exec(rest);
		if (request.method === 'GET' && member) {
			const membership = roomMembers.get(member[1]);
			return membership
				? json(200, { membership })
				: json(404, { errcode: 'M_NOT_FOUND', error: 'Event not found.' });
		}
		if (request.method === 'POST' && rest === 'invite') {
			const invitee = String((request.body as { user_id?: unknown }).user_id);
			try {
				limits.chargeInvite(bot, roomId, invitee);
				if (roomMembers.get(invitee) === 'join')
					throw new HttpError(403, 'M_FORBIDDEN', `${invitee} is already in the room.`);
				limits.chargeEvent(bot);
				const remote = invitee.slice(invitee.indexOf(':') + 1);
				if (remote !== server && unreachable.has(remote)) {
					await clock.sleep(options.unreachableDelayMs ?? 0);
					throw new HttpError(502, 'M_UNKNOWN', `Can't connect to server ${remote}`);
				}
			} catch (error) {
				const e = error as HttpError;
				invites.push([invitee, e.status, e.extra.retry_after_ms as number | undefined]);
				return json(e.status, { errcode: e.errcode, error: e.message, ...e.extra });
			}
			roomMembers.set(invitee, 'invite');
			const key = `${roomId}|${invitee}`;
			counts.set(key, (counts.get(key) ?? 0) + 1);
			invites.push([invitee, 200, undefined]);
			return json(200, {});
		}
		return json(404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
	};
	return {
		transport: answer as HttpTransport,
		limits,
		inviteCount: (roomId, userId) => counts.get(`${roomId}|${userId}`) ?? 0,
		invites,
		unreachable,
	};
}
