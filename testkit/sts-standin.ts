/**
 * A small STS stand-in speaking the STS Query protocol (AssumeRole, GetFederationToken) on loopback.
 * It records every request so tests can assert the scoped policy the server asked for.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';

export interface StsRequest {
  action: string;
  params: URLSearchParams;
}

export interface StsStandIn {
  url: string;
  requests: StsRequest[];
  close(): Promise<void>;
}

function xml(action: string, expiration: Date, extra: string): string {
  return `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <${action}Result>
    <Credentials>
      <AccessKeyId>S3RVER</AccessKeyId>
      <SecretAccessKey>S3RVER</SecretAccessKey>
      <SessionToken>token-${randomBytes(8).toString('hex')}</SessionToken>
      <Expiration>${expiration.toISOString()}</Expiration>
    </Credentials>
    ${extra}
  </${action}Result>
  <ResponseMetadata><RequestId>${randomBytes(8).toString('hex')}</RequestId></ResponseMetadata>
</${action}Response>`;
}

export async function startStsStandIn(): Promise<StsStandIn> {
  const requests: StsRequest[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const params = new URLSearchParams(body);
      const action = params.get('Action') ?? '';
      requests.push({ action, params });
      const expiration = new Date(Date.now() + Number(params.get('DurationSeconds') ?? 3600) * 1000);
      let extra = '';
      if (action === 'AssumeRole') {
        extra = `<AssumedRoleUser><Arn>${params.get('RoleArn')}/${params.get('RoleSessionName')}</Arn><AssumedRoleId>AROA:x</AssumedRoleId></AssumedRoleUser>`;
      } else if (action === 'GetFederationToken') {
        extra = `<FederatedUser><Arn>arn:aws:sts::123456789012:federated-user/${params.get('Name')}</Arn><FederatedUserId>123456789012:${params.get('Name')}</FederatedUserId></FederatedUser>`;
      } else {
        res.writeHead(400, { 'Content-Type': 'text/xml' });
        res.end(`<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>${action}</Message></Error></ErrorResponse>`);
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/xml' });
      res.end(xml(action, expiration, extra));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
