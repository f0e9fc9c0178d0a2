type Json = Record<string, unknown>;

/** An answer other than 2xx: status, Matrix errcode, message, extra body keys, headers. */
export class HttpError extends Error {
	constructor(
		readonly status: number,
		readonly errcode: string,
		message: string,
		readonly extra: Json = {},
		readonly headers: Record<string, string> = {},
		/** Wait this long (homeserver clock) before answering (Synapse ≥ 1.108 pauses on a 429). */
		readonly pauseMs = 0,
	) {
		super(message);
	}
}

/** Thrown to answer only after a delay (homeserver clock), e.g. Synapse giving up on a server. */
export class DelayedError extends Error {
	constructor(
		readonly delayMs: number,
		readonly fail: () => never,
	) {
		super('delayed');
	}
}

export const forbidden = (message: string) => new HttpError(403, 'M_FORBIDDEN', message);
export const notFound = (message: string) => new HttpError(404, 'M_NOT_FOUND', message);
export const unrecognized = (status = 404) =>
	new HttpError(status, 'M_UNRECOGNIZED', 'Unrecognized request');
