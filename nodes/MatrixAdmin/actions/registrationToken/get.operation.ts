import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { SynapseAdmin } from '../../../../lib/matrix/admin';
import { resultFieldProperty, tokenOf, tokenProperty, withResult } from '../common';

const ops = ['get'];

export const description: INodeProperties[] = [tokenProperty(ops, 'The registration token to read'), resultFieldProperty(ops)];

export async function execute(this: IExecuteFunctions, admin: SynapseAdmin, itemIndex: number): Promise<INodeExecutionData[]> {
	return [withResult(this, itemIndex, await admin.get(tokenOf(this, itemIndex)))];
}
