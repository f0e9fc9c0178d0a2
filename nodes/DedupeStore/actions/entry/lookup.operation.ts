import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';

import type { Ledger } from '../../../../lib/store';
import { perItem } from '../common';
import { personProperties, readPerson, readPersonScope } from './person';

export const description: INodeProperties[] = personProperties('lookup');

/** GDPR access request: what the ledger holds for the person (no hashes, no plaintext identifiers). */
export async function execute(
	this: IExecuteFunctions,
	ledger: Ledger,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	return perItem(this, items, async (i) => {
		const rows = await ledger.lookup(readPerson(this, i), readPersonScope(this, i));
		const entries = rows.map((row) => ({
			...row,
			createdAt: new Date(row.createdAt).toISOString(),
			updatedAt: new Date(row.updatedAt).toISOString(),
			expiresAt: row.expiresAt === null ? null : new Date(row.expiresAt).toISOString(),
		}));
		return [
			{
				json: { found: entries.length, entries: entries as unknown as IDataObject[] },
				pairedItem: { item: i },
			},
		];
	});
}
