import { expectedInactiveReason, type ExpectedInactiveReason } from './access';
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
	/** Relative weights of order statuses (any string; pretix knows n, p, e, c). Default: all paid. */
	statuses?: Partial<Record<string, number>>;
	/** Fraction (0..1) of test-mode orders. Default 0. */
	testmodeFraction?: number;
	/** Fraction (0..1) of positions canceled at position level (never the first of an order). */
	canceledPositionFraction?: number;
	/** Attendee positions per order: a number or [min, max]. Default 1. */
	positionsPerOrder?: number | [number, number];
	/**
	 * Order states beyond the status mix, as fractions (0..1) of all orders, mutually exclusive and
	 * taking precedence over `statuses`. Default 0 each (the plain status mix).
	 * - `pendingApproval`: `n` + `require_approval: true` (placed, waiting for the organizer);
	 * - `denied`: `c` + `require_approval: true` (deny_order keeps the flag);
	 * - `validIfPending`: `n` + `valid_if_pending: true` (treated like paid);
	 * - `cancelWithFee`: `p`, every position canceled, only a cancellation fee left (_cancel_order).
	 */
	orderStates?: Partial<Record<'pendingApproval' | 'denied' | 'validIfPending' | 'cancelWithFee', number>>;
	/** Fraction (0..1) of attendee positions blocked (`blocked: ["admin"]`). Default 0. */
	blockedFraction?: number;
	/**
	 * Fraction (0..1) of attendee positions with a validity window, a third each not yet valid
	 * (`valid_from` in 30 days), no longer valid (`valid_until` 30 days ago) and valid now. Default 0.
	 */
	validityFraction?: number;
	/** Fraction (0..1) of attendee positions that get an add-on position (`addon_to`, no answers). Default 0. */
	addonFraction?: number;
	/** Item id of generated add-on positions. Default 203 (the fixtures' workshop add-on). */
	addonItemId?: number;
	/** Sub-event ids the attendee positions are spread over (event series); add-ons share their parent's. */
	subevents?: number[];
	/** Reference time for validity windows and `active` (ISO). Default: now. */
	now?: string;
	/** Whether `active` counts pending orders (the caller selects status `n`). Default false. */
	pendingCounts?: boolean;
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
	/** The raw answer as stored (undefined when missing, and for add-ons). */
	answer?: string;
	/** Whether this ticket grants access now (the issue-11 rule, see access.ts). */
	active: boolean;
	/** Why not, when not active. */
	inactiveReason: ExpectedInactiveReason | null;
	orderStatus: string;
	itemId: number;
	/** Parent position id of an add-on position, else null. */
	addonTo: number | null;
	subevent: number | null;
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

type OrderState = 'pendingApproval' | 'denied' | 'validIfPending' | 'cancelWithFee';
const DAY_US = 86_400_000_000;

/** N orders shaped like pretix's serializer output, deterministic for a seed. */
export function generateOrders(options: GenerateOrdersOptions): GeneratedOrders {
	const random = seededRandom(options.seed ?? 1);
	const organizer = options.organizer ?? 'exampleorg';
	const event = options.event ?? 'summit26';
	const baseUrl = (options.baseUrl ?? 'https://pretix.eu').replace(/\/$/, '');
	const identifier = options.questionIdentifier ?? 'matrix';
	const questionId = options.questionId ?? 101;
	const itemId = options.itemId ?? 201;
	const addonItemId = options.addonItemId ?? 203;
	const used = new Set(options.avoidCodes ?? []);
	const nowUs = isoToUs(options.now ?? new Date().toISOString()) ?? Date.now() * 1000;
	const stateWeights = Object.entries(options.orderStates ?? {}).filter(([, w]) => typeof w === 'number' && w > 0) as Array<[OrderState, number]>;
	const subevents = options.subevents ?? [];
	let positionId = options.firstPositionId ?? 900000;
	let feeId = 700000;
	let persons = 0;
	let timeUs = isoToUs(options.startAt ?? '2026-05-01T08:00:00Z') ?? 0;
	const orders: Json[] = [];
	const attendees: Array<Omit<GeneratedAttendee, 'active' | 'inactiveReason' | 'orderStatus'>> = [];

	for (let i = 0; i < options.count; i++) {
		const testmode = random() < (options.testmodeFraction ?? 0);
		let code: string;
		do {
			const chars = Array.from({ length: 5 }, () => ORDER_CODE_ALPHABET[Math.floor(random() * ORDER_CODE_ALPHABET.length)]);
			if (testmode) chars[1] = '0';
			code = chars.join('');
		} while (used.has(code));
		used.add(code);
		let status = pickWeighted<string>(options.statuses ?? { p: 1 }, random, 'p');
		// Extra draws only when asked for, so the default mix stays the same sequence for a seed.
		let state: OrderState | undefined;
		if (stateWeights.length) {
			let roll = random();
			for (const [name, weight] of stateWeights) {
				if (roll < weight) {
					state = name;
					break;
				}
				roll -= weight;
			}
		}
		if (state === 'pendingApproval' || state === 'validIfPending') status = 'n';
		else if (state === 'denied') status = 'c';
		else if (state === 'cancelWithFee') status = 'p';
		timeUs += Math.floor(1_000_000 + random() * 59_000_000);
		const created = usToIso(timeUs);
		const secret = Array.from({ length: 16 }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(random() * 36)]).join('');
		const ppo = options.positionsPerOrder ?? 1;
		const positionCount = Array.isArray(ppo) ? ppo[0] + Math.floor(random() * (ppo[1] - ppo[0] + 1)) : ppo;
		const positions: Json[] = [];
		const first = attendees.length;
		const base = (id: number, number: number): Json => ({
			...(options.template?.positions?.[0] ? structuredClone(options.template.positions[0]) : {}),
			id,
			order: code,
			positionid: number,
			variation: null,
			valid_from: null,
			valid_until: null,
			blocked: null,
			checkins: [],
			print_logs: [],
			plugin_data: {},
		});
		for (let p = 1; p <= positionCount; p++) {
			positionId++;
			persons++;
			const n = persons;
			const kind = pickWeighted<MxidKind>(options.mix ?? { valid: 1 }, random, 'valid');
			const canceled = state === 'cancelWithFee' || (p > 1 && random() < (options.canceledPositionFraction ?? 0));
			let answer: string | undefined;
			if (kind === 'valid') answer = `@user${n}:example.org`;
			else if (kind === 'malformed') answer = MALFORMED_SHAPES[Math.floor(random() * MALFORMED_SHAPES.length)](n);
			const answers = answer === undefined ? [] : [{ question: questionId, answer, question_identifier: identifier, options: [], option_identifiers: [] }];
			const position: Json = {
				...base(positionId, positions.length + 1),
				canceled,
				item: itemId,
				price: '120.00',
				attendee_name: `Attendee ${n}`,
				attendee_name_parts: { _scheme: 'full', full_name: `Attendee ${n}` },
				attendee_email: `attendee${n}@example.org`,
				secret: `${secret}${p}`,
				addon_to: null,
				subevent: subevents.length === 0 ? null : subevents.length === 1 ? subevents[0] : subevents[Math.floor(random() * subevents.length)],
				answers,
				downloads: status === 'p' && !canceled ? [{ output: 'pdf', url: `${baseUrl}/api/v1/organizers/${organizer}/events/${event}/orderpositions/${positionId}/download/pdf/` }] : [],
			};
			if ((options.blockedFraction ?? 0) > 0 && random() < options.blockedFraction!) position.blocked = ['admin'];
			if ((options.validityFraction ?? 0) > 0 && random() < options.validityFraction!) {
				const variant = Math.floor(random() * 3);
				if (variant === 0) position.valid_from = usToIso(nowUs + 30 * DAY_US);
				else if (variant === 1) position.valid_until = usToIso(nowUs - 30 * DAY_US);
				else {
					position.valid_from = usToIso(nowUs - 30 * DAY_US);
					position.valid_until = usToIso(nowUs + 30 * DAY_US);
				}
			}
			positions.push(position);
			attendees.push({ code, positionId, kind, answer, itemId, addonTo: null, subevent: position.subevent });
			if ((options.addonFraction ?? 0) > 0 && random() < options.addonFraction!) {
				positionId++;
				const parent = position;
				const addon: Json = {
					...base(positionId, positions.length + 1),
					// A position-level cancellation cancels the add-ons too (OrderChangeManager.cancel).
					canceled: parent.canceled,
					item: addonItemId,
					price: '30.00',
					attendee_name: null,
					attendee_name_parts: {},
					attendee_email: null,
					secret: `${secret}${p}a`,
					addon_to: parent.id,
					subevent: parent.subevent,
					answers: [],
					downloads: [],
				};
				positions.push(addon);
				attendees.push({ code, positionId, kind: 'missing', itemId: addonItemId, addonTo: parent.id, subevent: parent.subevent });
			}
		}
		const fees: Json[] = [];
		let total = positions.reduce((sum, p) => sum + Number(p.price), 0);
		if (state === 'cancelWithFee') {
			fees.push({ id: ++feeId, fee_type: 'cancellation', value: '10.00', description: '', internal_type: '', tax_rate: '0.00', tax_value: '0.00', tax_rule: null, tax_code: null, canceled: false });
			total = 10;
		}
		const order: Json = {
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
			expires: usToIso(timeUs + 14 * DAY_US),
			last_modified: created,
			payment_date: status === 'p' ? created.slice(0, 10) : null,
			payment_provider: 'banktransfer',
			fees,
			total: total.toFixed(2),
			require_approval: state === 'pendingApproval' || state === 'denied',
			valid_if_pending: state === 'validIfPending',
			invoice_address: null,
			positions,
			downloads: [],
			payments: [],
			refunds: [],
			cancellation_date: status === 'c' || state === 'cancelWithFee' ? created : null,
			plugin_data: {},
		};
		orders.push(order);
		for (let a = first; a < attendees.length; a++) {
			const position = positions.find((p) => p.id === attendees[a].positionId)!;
			const reason = expectedInactiveReason(order, position, { nowUs, pendingCounts: options.pendingCounts });
			Object.assign(attendees[a], { active: reason === null, inactiveReason: reason, orderStatus: status });
		}
	}
	return { orders, attendees: attendees as GeneratedAttendee[] };
}
