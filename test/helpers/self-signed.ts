// A throwaway self-signed certificate for 127.0.0.1 and localhost (openssl, as on the project's
// machines), for the wss:// tests; and its SPKI hash, which chromium's
// --ignore-certificate-errors-spki-list takes to trust exactly this key.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SelfSigned {
  readonly certPath: string;
  readonly keyPath: string;
  readonly cert: string;
  readonly key: string;
  readonly spkiSha256: string;
  remove(): void;
}

export function selfSigned(): SelfSigned {
  const dir = mkdtempSync(join(tmpdir(), 'webccl-tls-'));
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyPath, '-out', certPath], { stdio: 'ignore' });
  const spki = execFileSync('sh', ['-c', `openssl x509 -pubkey -noout -in '${certPath}' | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`], { encoding: 'utf8' }).trim();
  return {
    certPath, keyPath, cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), spkiSha256: spki,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
