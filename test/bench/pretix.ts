/**
 * pretix fetch: all active attendees of an event with N generated orders through lib/pretix (client
 * + fetchAttendees, incremental mode so a cursor comes back), against a bare fetch loop that pulls
 * the very same pages from the same fake (the fake's own speed: the floor). Then an incremental
 * re-run with nothing new, whose requests are counted at the fake.
 */
import { fetchTransport } from '../../lib/http/fetch-transport';
import { fetchAttendees, PretixClient } from '../../lib/pretix';
import { FAKE_TEAM_TOKEN, startFakePretix } from '../fakes/pretix';
import {
	envInt,
	median,
	perSecond,
	rate,
	seconds,
	times,
	type BenchContext,
	type BenchOutcome,
	type Benchmark,
} from './common';

const ORGANIZER = 'exampleorg';
const EVENT = 'bench26';
const ROUNDS = 5;

export const pretixBench: Benchmark = {
	name: 'pretix',
	description:
		'fetch attendees of N orders through lib/pretix vs a bare fetch loop; incremental re-run',
	async run(ctx: BenchContext): Promise<BenchOutcome> {
		const count = envInt('BENCH_PRETIX_ORDERS', ctx.quick ? 500 : 5000);
		const bench = `pretix fetch ${count} orders`;
		const broken: string[] = [];
		const pretix = await startFakePretix({ seed: true });
		try {
			const auth = `Token ${FAKE_TEAM_TOKEN}`;
			// A dedicated event (a copy of the fixture event) so the fixture orders do not mix in.
			const template = (await (
				await fetch(`${pretix.apiUrl}/organizers/${ORGANIZER}/events/summit26/`, {
					headers: { Authorization: auth },
				})
			).json()) as Record<string, unknown>;
			const { public_url: _publicUrl, ...event } = template;
			pretix.addEvent(ORGANIZER, { ...event, slug: EVENT });
			// 1–2 attendees per order, all paid and valid: the fetch itself is measured, not filtering.
			const generated = pretix.generateOrders({
				count,
				seed: 4242,
				organizer: ORGANIZER,
				event: EVENT,
				positionsPerOrder: [1, 2],
			});
			const expected = generated.attendees.filter((a) => a.active).length;

			const client = new PretixClient({
				transport: fetchTransport(() => auth),
				instanceUrl: pretix.url,
			});
			const ours = async () => {
				const started = performance.now();
				const result = await fetchAttendees(client, {
					organizer: ORGANIZER,
					event: EVENT,
					incremental: {},
				});
				return { ms: performance.now() - started, result };
			};
			// The floor: the same first URL our client asked for, then `next` links, JSON parsed, nothing else.
			pretix.resetRequests();
			const probe = await ours();
			const first = pretix.requests.find((r) => r.path.endsWith(`/events/${EVENT}/orders/`));
			if (!first) throw new Error('the client made no order list request');
			const firstUrl = `${pretix.url}${first.path}${first.search ? `?${first.search}` : ''}`;
			const bare = async () => {
				const started = performance.now();
				let url: string | null = firstUrl;
				let positions = 0;
				while (url) {
					const res = await fetch(url, {
						headers: { Authorization: auth, Accept: 'application/json' },
					});
					const page = (await res.json()) as {
						next: string | null;
						results: Array<{ positions: unknown[] }>;
					};
					for (const order of page.results) positions += order.positions.length;
					url = page.next;
				}
				return { ms: performance.now() - started, positions };
			};

			const oursMs: number[] = [];
			const bareMs: number[] = [];
			let last = probe.result;
			let barePositions = 0;
			// Alternate so drift in machine load hits both sides alike.
			for (let round = 0; round < ROUNDS; round++) {
				const b = await bare();
				bareMs.push(b.ms);
				barePositions = b.positions;
				const o = await ours();
				oursMs.push(o.ms);
				last = o.result;
			}
			if (last.attendees.length !== expected)
				broken.push(`pretix: fetched ${last.attendees.length} attendees, expected ${expected}`);
			if (barePositions !== expected)
				broken.push(`pretix: the bare loop saw ${barePositions} positions, expected ${expected}`);

			// Incremental re-run with nothing new: requests counted at the fake.
			pretix.resetRequests();
			const again = await fetchAttendees(client, {
				organizer: ORGANIZER,
				event: EVENT,
				incremental: { cursor: last.cursor },
			});
			const rerunRequests = pretix.requests.length;
			if (!last.cursor) broken.push('pretix: the incremental fetch returned no cursor');
			if (again.attendees.length !== 0)
				broken.push(
					`pretix: the re-run with nothing new emitted ${again.attendees.length} attendees`,
				);

			const oursRate = perSecond(expected, median(oursMs));
			const floorRate = perSecond(expected, median(bareMs));
			const pages = Math.ceil(count / 50);
			ctx.log(
				`pretix: ours ${oursMs.map((m) => seconds(m)).join(', ')}; bare ${bareMs.map((m) => seconds(m)).join(', ')}`,
			);
			return {
				rows: [
					{
						bench,
						what: 'ours (lib/pretix): attendees/s',
						figure: rate(oursRate, '/s'),
						floor: rate(floorRate, '/s'),
						ratio: times(oursRate / floorRate),
						target: '',
						note: `${expected} attendees, ${pages} pages; median of ${ROUNDS}`,
					},
					{
						bench,
						what: 'ours (lib/pretix): wall time',
						figure: seconds(median(oursMs)),
						floor: seconds(median(bareMs)),
						ratio: times(median(oursMs) / median(bareMs)),
						target: '',
						note: 'floor: bare fetch loop, same pages',
					},
					{
						bench,
						what: 'incremental re-run, nothing new: requests',
						figure: String(rerunRequests),
						floor: '1',
						ratio: '',
						target: '1',
						note: `${again.attendees.length} attendees emitted`,
					},
				],
				broken,
			};
		} finally {
			await pretix.stop();
		}
	},
};
