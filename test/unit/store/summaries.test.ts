/** A batch counted chunk by chunk (one sub-workflow run per 25 tickets) adds up to the same summary. */
import { combineTicketSummaries, summarizeTicketRun, type TicketStep } from '../../../lib/store';

type Entry = Parameters<typeof summarizeTicketRun>[0][number];

function entry(ticket: number, action: string, reason: string, recorded?: string, extra: Partial<TicketStep> = {}): Entry {
	const step = { action, reason, event: 'exampleorg/summit26', ticket: String(ticket), orderCode: `ORD${ticket}`, ...extra } as unknown as TicketStep;
	return { step, recorded, positionNumber: 1 };
}

describe('combineTicketSummaries', () => {
	// Tickets 1–60; some with two rooms (two steps, always in the same chunk, as Plan emits them).
	const tickets: Entry[][] = Array.from({ length: 60 }, (_, i) => {
		const id = i + 1;
		if (id % 10 === 0) return [entry(id, 'report', 'invalidMatrixId', 'sent', { invalidReason: 'missingServer' } as Partial<TicketStep>)];
		if (id % 7 === 0) return [entry(id, 'invite', 'granted', 'failed')];
		if (id % 5 === 0) return [entry(id, 'skip', 'ticketPending')];
		if (id % 3 === 0) return [entry(id, 'skip', 'already:invited'), entry(id, 'skip', 'already:invited', undefined, { room: '!b:x' } as Partial<TicketStep>)];
		if (id % 11 === 0) return [entry(id, 'withdraw', 'ticketRevoked', 'withdrawn')];
		return [entry(id, 'invite', 'granted', 'invited'), entry(id, 'invite', 'granted', 'invited', { room: '!b:x' } as Partial<TicketStep>)];
	});

	test('the chunks of a run add up to the summary of the whole run', () => {
		const whole = summarizeTicketRun(tickets.flat());
		const chunks = [];
		for (let i = 0; i < tickets.length; i += 25) chunks.push(summarizeTicketRun(tickets.slice(i, i + 25).flat()));
		expect(chunks.length).toBe(3);
		expect(combineTicketSummaries(chunks)).toEqual(whole);
		expect(whole.tickets).toBe(60);
		expect(whole.failed).toBeGreaterThan(0);
		expect(whole.invalid).toBeGreaterThan(0);
	});

	test('items that are not summaries (the event list) are ignored; nothing gives zeros', () => {
		const one = summarizeTicketRun(tickets.slice(0, 5).flat());
		expect(combineTicketSummaries([{ event: 'exampleorg/summit26' }, one, null, 'x'])).toEqual(one);
		expect(combineTicketSummaries([])).toEqual(summarizeTicketRun([]));
	});
});
