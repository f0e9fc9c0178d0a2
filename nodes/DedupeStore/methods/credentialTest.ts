import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	INodeCredentialTestResult,
} from 'n8n-workflow';

import { testStoreCredential } from '../../../lib/store';
import { storeCredential } from '../actions/common';

/** Opens the configured backend (creating its tables if needed), pings it and closes it again. */
export async function dedupeStoreConnectionTest(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	try {
		await testStoreCredential(storeCredential(credential.data ?? {}));
		return { status: 'OK', message: 'Connection successful' };
	} catch (error) {
		return {
			status: 'Error',
			message: error instanceof Error ? error.message : 'The store could not be opened',
		};
	}
}
