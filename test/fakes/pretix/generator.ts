import { seededRandom, usToIso, isoToUs, type Json } from './state';

export type MxidKind = 'valid' | 'malformed' | 'missing';

export interface GenerateOrdersOptions {
	count: number;
	/** Same seed → same orders, codes, answers. */
	seed?: number;
	organizer?: string;
	event?: string;
	/** Base URL put into `url` / `downloads` links. */
	baseUrl?: string;
	/** Relative weights of Matrix ID answers per attendee position. Default: all valid. */
	mix?: Partial<Record<MxidKind, number>>;
	/** Relative weights of order statuses. Default: all paid. */
	statuses?: Partial<Record<'n' | 'p' | 'e' | 'c', number>>;
	/** Fraction (0..1) of test-mode orders. Default 0. */
	testmodeFraction?: number;
	/** Fraction (0..1) of positions canceled at position level (never the first of an order). */
	canceledPositionFraction?: number;
	/** Attendee positions per order: a number or [min, max]. Default 1. */
	positionsPerOrder?: number | [number, number];
	/** First position id; ids then count up. Default 900000. */
	firstPositionId?: number;
	/** Timestamp of the first order; each next order is 1–60 s later. Default 2026-05-01T08:00:00Z. */
	startAt?: string;
	itemId?: number;
	questionId?: number;
	questionIdentifier?: string;
	/** Codes that must not be produced again (e.g. the seeded fixtures). */
	avoidCodes?: Iterable<string>;
	/** Template order to copy all other fields from (e.g. the ABC3K fixture). */
	template?: Json;
}

export interface GeneratedAttendee {
	code: string;
	positionId: number;
	kind: MxidKind;
	/** The raw answer as stored (undefined when missing). */
	answer?: string;
	/** Whether the attendee counts as active (order paid, position not canceled, not test mode). */
	active: boolean;
}

export interface GeneratedOrders {
	orders: Json[];
	attendees: GeneratedAttendee[];
}

export const ORDER_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ3789';

const MALFORMED_SHAPES: Array<(n: number) => string> = [
	(n) => `user${n}:example.org`,
	(n) => `@user${n}`,
	(n) => `@user ${n}:example.org`,
	(n) => `user${n}@example.org`,
	(n) => `@:example.org#${n}`,
	() => '@',
];

function pickWeighted<K extends string>(weights: Partial<Record<K, number>>, random: () => number, fallback: K): K {
	const entries = Object.entries(weights).filter(([, w]) => typeof w === 'number' && (w as number) > 0) as Array<[K, number]>;
	const total = entries.reduce((sum, [, w]) => sum + w, 0);
	if (total <= 0) return fallback;
	let roll = random() * total;
	for (const [key, weight] of entries) {
		roll -= weight;
		if (roll < 0) return key;
	}
	return entries[entries.length - 1][0];
}

/** N orders shaped like pretix's serializer output, deterministic for a seed. */
export function generateOrders(options: GenerateOrdersOptions): GeneratedOrders {
	const random = seededRandom(options.seed ?? 1);
	const organizer = options.organizer ?? 'exampleorg';
	const event = options.event ?? 'summit26';
	const baseUrl = (options.baseUrl ?? 'https://pretix.eu').replace(/\/$/, '');
	const identifier = options.questionIdentifier ?? 'matrix';
	const questionId = options.questionId ?? 101;
	const itemId = options.itemId ?? 201;
	const used = new Set(options.avoidCodes ?? []);
	let positionId = options.firstPositionId ?? 900000;
	let timeUs = isoToUs(options.startAt ?? '2026-05-01T08:00:00Z') ?? 0;
	const orders: Json[] = [];
	const attendees: GeneratedAttendee[] = [];

	for (let i = 0; i < options.count; i++) {
		const testmode = random() < (options.testmodeFraction ?? 0);
		let code: string;
		do {
			const chars = Array.from({ length: 5 }, () => ORDER_CODE_ALPHABET[Math.floor(random() * ORDER_CODE_ALPHABET.length)]);
			if (testmode) chars[1] = '0';
			code = chars.join('');
		} while (used.has(code));
		used.add(code);
		const status = pickWeighted<'n' | 'p' | 'e' | 'c'>(options.statuses ?? { p: 1 }, random, 'p');
		timeUs += Math.floor(1_000_000 + random() * 59_000_000);
		const created = usToIso(timeUs);
		const secret = Array.from({ length: 16 }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(random() * 36)]).join('');
		const ppo = options.positionsPerOrder ?? 1;
		const positionCount = Array.isArray(ppo) ? ppo[0] + Math.floor(random() * (ppo[1] - ppo[0] + 1)) : ppo;
		const positions: Json[] = [];
		for (let p = 1; p <= positionCount; p++) {
			positionId++;
			const n = attendees.length + 1;
			const kind = pickWeighted<MxidKind>(options.mix ?? { valid: 1 }, random, 'valid');
			const canceled = p > 1 && random() < (options.canceledPositionFraction ?? 0);
			let answer: string | undefined;
			if (kind === 'valid') answer = `@user${n}:example.org`;
			else if (kind === 'malformed') answer = MALFORMED_SHAPES[Math.floor(random() * MALFORMED_SHAPES.length)](n);
			const answers = answer === undefined ? [] : [{ question: questionId, answer, question_identifier: identifier, options: [], option_identifiers: [] }];
			positions.push({
				...(options.template?.positions?.[0] ? structuredClone(options.template.positions[0]) : {}),
				id: positionId,
				order: code,
				positionid: p,
				canceled,
				item: itemId,
				variation: null,
				price: '120.00',
				attendee_name: `Attendee ${n}`,
				attendee_name_parts: { _scheme: 'full', full_name: `Attendee ${n}` },
				attendee_email: `attendee${n}@example.org`,
				secret: `${secret}${p}`,
				addon_to: null,
				subevent: null,
				checkins: [],
				print_logs: [],
				answers,
				downloads: status === 'p' && !canceled ? [{ output: 'pdf', url: `${baseUrl}/api/v1/organizers/${organizer}/events/${event}/orderpositions/${positionId}/download/pdf/` }] : [],
				plugin_data: {},
			});
			attendees.push({ code, positionId, kind, answer, active: status === 'p' && !canceled && !testmode });
		}
		orders.push({
			...(options.template ? structuredClone(options.template) : {}),
			code,
			event,
			status,
			testmode,
			secret,
			url: `${baseUrl}/${organizer}/${event}/order/${code}/${secret}/`,
			email: `buyer${i + 1}@example.org`,
			phone: null,
			customer: null,
			locale: 'en',
			sales_channel: 'web',
			datetime: created,
			expires: usToIso(timeUs + 14 * 86_400_000_000),
			last_modified: created,
			payment_date: status === 'p' ? created.slice(0, 10) : null,
			payment_provider: 'banktransfer',
			fees: [],
			total: (120 * positionCount).toFixed(2),
			require_approval: false,
			valid_if_pending: false,
			invoice_address: null,
			positions,
			downloads: [],
			payments: [],
			refunds: [],
			cancellation_date: status === 'c' ? created : null,
			plugin_data: {},
		});
	}
	return { orders, attendees };
}
