import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { SynapseAdmin } from '../../../../lib/matrix/admin';
import { resultFieldProperty, show, tokenOf, tokenProperty, withResult } from '../common';

const ops = ['delete'];

export const description: INodeProperties[] = [
	tokenProperty(ops, 'The registration token to delete'),
	{
		displayName: 'Ignore Missing Token',
		name: 'ignoreMissing',
		type: 'boolean',
		default: false,
		description: 'Whether a token that does not exist (any more) counts as deleted instead of failing',
		displayOptions: show(ops),
	},
	resultFieldProperty(ops),
];

/** `{ deleted: true }`, or `false` for a missing token when that is allowed. */
export async function execute(this: IExecuteFunctions, admin: SynapseAdmin, itemIndex: number): Promise<INodeExecutionData[]> {
	const deleted = await admin.delete(tokenOf(this, itemIndex), this.getNodeParameter('ignoreMissing', itemIndex, false) === true);
	return [withResult(this, itemIndex, { deleted })];
}
