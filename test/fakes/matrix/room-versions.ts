/**
 * Room-version rules of the fake homeserver that concern power, copied from Synapse:
 * - `synapse/api/room_versions.py`: v11 has `implicit_room_creator` (the creator is the create
 *   event's sender; `content.creator` is gone), v12 has `msc4289_creator_power_enabled`.
 * - `synapse/event_auth.py` `get_user_power_level`: in a room with creator power (MSC4289) the
 *   create event's sender and every `additional_creators` entry have unlimited power; otherwise
 *   `users[id]`, else `users_default`, else 0; with no `m.room.power_levels` event at all the
 *   creator has 100 and everyone else 0.
 * - `synapse/handlers/room.py` (`_send_events_for_new_room`): a new v12 room does not list its
 *   creators in `users`; older versions give the creator 100 there.
 */
type Json = Record<string, unknown>;

/** room_versions.py `restricted_join_rule`: room versions 8 and later (MSC3083). */
export function supportsRestricted(roomVersion: string): boolean {
	return !/^[1-7]$/.test(roomVersion);
}

/** room_versions.py `knock_restricted_join_rule`: room versions 10 and later (MSC3787). */
export function supportsKnockRestricted(roomVersion: string): boolean {
	return !/^[1-9]$/.test(roomVersion);
}

/** Room versions 1–11 predate MSC4289; 12 and later give creators unlimited power. */
export function creatorsHaveUnlimitedPower(roomVersion: string): boolean {
	return !/^([1-9]|1[01])$/.test(roomVersion);
}

export function createEventContent(
	roomVersion: string,
	creator: string,
	additionalCreators: string[] = [],
): Json {
	const content: Json = { room_version: roomVersion };
	if (/^([1-9]|10)$/.test(roomVersion)) content.creator = creator;
	if (creatorsHaveUnlimitedPower(roomVersion) && additionalCreators.length)
		content.additional_creators = additionalCreators;
	return content;
}

/** What `users` of a new room's power levels contain for its creator. */
export function creatorEntry(roomVersion: string, creator: string): Json {
	return creatorsHaveUnlimitedPower(roomVersion) ? {} : { [creator]: 100 };
}

export function userPowerLevel(
	create: { sender: string; content: Json },
	powerLevels: Json | undefined,
	userId: string,
): number {
	const version = String(create.content.room_version ?? '1');
	if (creatorsHaveUnlimitedPower(version)) {
		const additional = Array.isArray(create.content.additional_creators)
			? create.content.additional_creators
			: [];
		if (userId === create.sender || additional.includes(userId)) return Infinity;
	}
	if (powerLevels) {
		const level =
			(powerLevels.users as Json | undefined)?.[userId] ?? powerLevels.users_default ?? 0;
		return Number(level);
	}
	const creator =
		version === '11' || creatorsHaveUnlimitedPower(version)
			? create.sender
			: create.content.creator;
	return userId === creator ? 100 : 0;
}
