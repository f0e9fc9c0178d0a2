import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import type { Ledger, LedgerEntryInput } from '../../../../lib/store';
import {
	errorItem,
	pairedIndex,
	readEntries,
	resultField,
	toNodeError,
	withResult,
} from '../common';

/**
 * Complete / Fail / Release: items are grouped by `groupOf` (e.g. the reason code), each group is
 * one batch call; items pass through, in input order, with the result added.
 */
export async function settleItems<G extends string>(
	context: IExecuteFunctions,
	ledger: Ledger,
	items: INodeExecutionData[],
	groupOf: (itemIndex: number) => G,
	record: (entries: LedgerEntryInput[], group: G) => Promise<number>,
	result: (group: G) => Record<string, unknown>,
): Promise<INodeExecutionData[][]> {
	const groups = new Map<G, number[]>();
	for (let i = 0; i < items.length; i++) {
		const group = groupOf(i);
		groups.set(group, [...(groups.get(group) ?? []), i]);
	}
	const out: INodeExecutionData[] = [];
	for (const [group, indexes] of groups) {
		const { valid, failed } = readEntries(context, ledger, items, indexes);
		out.push(...failed);
		if (valid.length === 0) continue;
		try {
			await record(
				valid.map((v) => v.entry),
				group,
			);
			for (const { index } of valid)
				out.push(withResult(items[index], resultField(context, index), result(group), index));
		} catch (error) {
			if (!context.continueOnFail()) throw toNodeError(context, error);
			for (const { index } of valid) out.push(errorItem(context, error, index));
		}
	}
	out.sort((a, b) => pairedIndex(a) - pairedIndex(b));
	return [out];
}
