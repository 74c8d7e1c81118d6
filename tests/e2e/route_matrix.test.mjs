// route_matrix.test.mjs - every route of the router × every kind of principal:
// the status and the audit records of each cell, written down once in
// EXPECTED below; and, with the audit log unwritable, every cell that serves
// secret material answers 503 instead.
//
// The routes are read from src/server/router.c: a route added there without a
// row here (or a row whose route is gone) fails the test.
//
// A cell is "<status><records>", one letter per audit record the request
// leaves: d a refusal (permission.denied, auth.token.missing,
// auth.token.invalid, auth.ip.denied), r a read of secret material (a value,
// a ciphertext record, a wrapped project key: secret.read, secret.list,
// secret.versions, project.versions, project.key.read,
// service-token.key.read, user.key.read), f any other record with outcome failure, w any
// other record (a write).  Each request carries its own User-Agent, which its
// records keep, so that cells run in parallel (one principal per client
// address, 127.0.0.10 on) and are told apart afterwards.  A reply that
// carries a value, a ciphertext or a wrapped key without an r record fails
// the test whatever the table says.
//
// Principals: none (no Authorization), bad (a made-up session token),
// expired (an identity access token with a 1 s TTL, after it), revoked (a
// revoked service token), viewer and member (project roles), custom (a custom
// role: secrets read/create/edit/delete on dev and prod:/app/**, denied on
// prod:/app/private/**), identity (a machine identity, project role member),
// service (a service token, read-write, prod:/app), other (a user of the
// organization with a project of their own, not a member of this one).
// Secret routes act on prod:/app.  Each principal writes, renames and deletes
// keys of its own, so that the cells do not depend on each other's order.
//
// Setup: the CLI for people, roles, identities, tokens and secrets (with
// --server-access, so that Infisical's plaintext routes serve the project).

import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
    apiCall, bootstrapAndLogin, createProject, fakeRecord, inviteAndSignup, newCli, PG_MODE,
    readCredentialMatching, readToken, removeTempDirs, REPO_ROOT, serviceTokenBearer, serviceTokenIn,
    startServer, storeSql, waitFor,
} from './harness.mjs';

const T = { timeout: 300000 };
const V1 = '/api/arca/v1';
const CANARY = `canary-${randomBytes(12).toString('hex')}`;
const HIDDEN = '<hidden-by-infisical>';

const PRINCIPALS = ['none', 'bad', 'expired', 'revoked', 'viewer', 'member', 'custom', 'identity',
    'service', 'other'];

/* Route (as in router.c) -> the cells, one per principal in the order above. */
/* eslint-disable max-len */
const EXPECTED = {
    //                                                                       none bad  exp  rev  view mem  cust idn  svc  other
    'GET /api/status':                                                      '200  200  200  200  200  200  200  200  200  200',
    'GET /api/ready':                                                       '200  200  200  200  200  200  200  200  200  200',
    'POST /api/arca/v1/bootstrap':                                          '400  400  400  400  400  400  400  400  400  400',
    'POST /api/arca/v1/auth/params':                                        '400  400  400  400  400  400  400  400  400  400',
    'POST /api/arca/v1/auth/login':                                         '400  400  400  400  400  400  400  400  400  400',
    'POST /api/arca/v1/auth/logout':                                        '401d 401d 401d 401d 200w 200w 200w 400  400  200w',
    'POST /api/arca/v1/auth/password':                                      '401d 401d 401d 401d 400  400  400  400  400  400',
    'GET /api/arca/v1/users/me':                                            '401d 401d 401d 401d 200r 200r 200r 401  401  200r',
    'POST /api/arca/v1/projects':                                           '401d 401d 401d 401d 400  400  400  400  400  400',
    'GET /api/arca/v1/projects':                                            '401d 401d 401d 401d 200  200  200  200  200  200',
    'GET /api/arca/v1/projects/:projectId':                                 '401d 401d 401d 401d 200r 200r 200r 200r 200  404d',
    'PATCH /api/arca/v1/projects/:projectId':                               '401d 401d 401d 401d 400  400  400  400  400  400',
    'DELETE /api/arca/v1/projects/:projectId':                              '401d 401d 401d 401d 403d 403d 403d 403d 403d 404d',
    'GET /api/arca/v1/projects/:projectId/secrets':                         '401d 401d 401d 401d 200r 200r 200r 200r 200r 404d',
    'POST /api/arca/v1/projects/:projectId/secrets/batch':                  '401d 401d 401d 401d 403d 200w 200w 200w 200w 404d',
    'GET /api/arca/v1/projects/:projectId/secrets/:key':                    '401d 401d 401d 401d 200r 200r 200r 200r 200r 404d',
    'DELETE /api/arca/v1/projects/:projectId/secrets/:key':                 '401d 401d 401d 401d 403d 200w 200w 200w 200w 404d',
    'GET /api/arca/v1/projects/:projectId/secrets/:key/versions':           '401d 401d 401d 401d 200r 200r 200r 200r 200r 404d',
    'POST /api/arca/v1/projects/:projectId/secrets/:key/rollback':          '401d 401d 401d 401d 403d 404  404  404  404  404d',
    'POST /api/arca/v1/projects/:projectId/secrets/rollback':               '401d 401d 401d 401d 403d 200  200  200  403d 404d',
    'POST /api/arca/v1/invites':                                            '401d 401d 401d 401d 403d 403d 403d 403d 403d 403d',
    'GET /api/arca/v1/invites':                                             '401d 401d 401d 401d 403d 403d 403d 403d 403d 403d',
    'DELETE /api/arca/v1/invites/:inviteId':                                '401d 401d 401d 401d 403d 403d 403d 403d 403d 403d',
    'POST /api/arca/v1/signup':                                             '400  400  400  400  400  400  400  400  400  400',
    'GET /api/arca/v1/users/lookup':                                        '401d 401d 401d 401d 200  200  200  404  404  200',
    'GET /api/arca/v1/users':                                               '401d 401d 401d 401d 403d 403d 403d 403d 403d 403d',
    'DELETE /api/arca/v1/users/:userId':                                    '401d 401d 401d 401d 403d 403d 403d 403d 403d 403d',
    'GET /api/arca/v1/projects/:projectId/members':                         '401d 401d 401d 401d 200  200  403d 200  403d 404d',
    'POST /api/arca/v1/projects/:projectId/members':                        '401d 401d 401d 401d 403d 403d 403d 403d 403d 404d',
    'PATCH /api/arca/v1/projects/:projectId/members/:principalId':          '401d 401d 401d 401d 403d 403d 403d 403d 403d 404d',
    'DELETE /api/arca/v1/projects/:projectId/members/:principalId':         '401d 401d 401d 401d 403d 403d 403d 403d 403d 404d',
    'GET /api/arca/v1/projects/:projectId/roles':                           '401d 401d 401d 401d 200  200  403d 200  403d 404d',
    'POST /api/arca/v1/projects/:projectId/roles':                          '401d 401d 401d 401d 403d 403d 403d 403d 403d 404d',
    'PATCH /api/arca/v1/projects/:projectId/roles/:slug':                   '401d 401d 401d 401d 403d 403d 403d 403d 403d 404d',
    'DELETE /api/arca/v1/projects/:projectId/roles/:slug':                  '401d 401d 401d 401d 403d 403d 403d 403d 403d 404d',
    'GET /api/arca/v1/projects/:projectId/versions':                        '401d 401d 401d 401d 403d 403d 403d 403d 403d 404d',
    'POST /api/arca/v1/projects/:projectId/rotate-key':                     '401d 401d 401d 401d 403d 403d 403d 403d 403d 404d',
    'POST /api/arca/v1/identities':                                         '401d 401d 401d 401d 400  400  400  400  400  400',
    'GET /api/arca/v1/identities':                                          '401d 401d 401d 401d 200  200  200  200  403d 200',
    'DELETE /api/arca/v1/identities/:identityId':                           '401d 401d 401d 401d 403d 403d 403d 404d 404d 403d',
    'POST /api/arca/v1/identities/:identityId/client-secrets':              '401d 401d 401d 401d 403d 403d 403d 404d 404d 403d',
    'GET /api/arca/v1/identities/:identityId/client-secrets':               '401d 401d 401d 401d 403d 403d 403d 404d 404d 403d',
    'DELETE /api/arca/v1/identities/:identityId/client-secrets/:secretId':  '401d 401d 401d 401d 403d 403d 403d 404d 404d 403d',
    'POST /api/arca/v1/auth/identity/login':                                '400  400  400  400  400  400  400  400  400  400',
    'POST /api/arca/v1/auth/token/renew':                                   '400  400  400  400  400  400  400  400  400  400',
    'POST /api/arca/v1/auth/token/revoke':                                  '400  400  400  400  400  400  400  400  400  400',
    'POST /api/arca/v1/projects/:projectId/service-tokens':                 '401d 401d 401d 401d 403d 200w 403d 200w 403d 404d',
    'GET /api/arca/v1/projects/:projectId/service-tokens':                  '401d 401d 401d 401d 403d 200  403d 200  403d 404d',
    'DELETE /api/arca/v1/projects/:projectId/service-tokens/:tokenId':      '401d 401d 401d 401d 403d 200w 403d 200w 403d 404d',
    'GET /api/arca/v1/projects/:projectId/watch':                           '401d 401d 401d 401d 200w 200w 200w 200w 200w 404d',
    'GET /api/arca/v1/projects/:projectId/folders':                         '401d 401d 401d 401d 200  200  200  200  200  404d',
    'POST /api/arca/v1/projects/:projectId/folders':                        '401d 401d 401d 401d 403d 200w 403d 200w 403d 404d',
    'DELETE /api/arca/v1/projects/:projectId/folders/:folderIdOrName':      '401d 401d 401d 401d 403d 200w 403d 200w 403d 404d',
    'GET /api/arca/v1/projects/:projectId/imports':                         '401d 401d 401d 401d 200  200  200  200  200  404d',
    'POST /api/arca/v1/projects/:projectId/imports':                        '401d 401d 401d 401d 403d 200w 403d 200w 403d 404d',
    'PATCH /api/arca/v1/projects/:projectId/imports/:importId':             '401d 401d 401d 401d 400  400  400  400  400  400',
    'DELETE /api/arca/v1/projects/:projectId/imports/:importId':            '401d 401d 401d 401d 404  404  404  404  404  404',
    'GET /api/arca/v1/service-token':                                       '401d 401d 401d 401d 400  400  400  400  200r 400',
    'GET /api/arca/v1/audit-logs':                                          '401d 401d 401d 401d 200w 200w 403d 200w 403d 404d',
    'GET /api/arca/v1/audit-logs/verify':                                   '401d 401d 401d 401d 403d 403d 403d 403d 403d 403d',
    'POST /api/arca/v1/shares':                                             '401d 401d 401d 401d 400  400  400  400  403d 400',
    'GET /api/arca/v1/shares':                                              '401d 401d 401d 401d 200  200  200  200  403d 200',
    'DELETE /api/arca/v1/shares/:shareId':                                  '401d 401d 401d 401d 404  404  404  404  403d 404',
    'POST /api/arca/v1/shares/:shareId/info':                               '400  400  400  400  400  400  400  400  400  400',
    'POST /api/arca/v1/shares/:shareId/open':                               '400  400  400  400  400  400  400  400  400  400',
    'GET /api/arca/v1/share-policy':                                        '401d 401d 401d 401d 200  200  200  200  403d 200',
    'PUT /api/arca/v1/share-policy':                                        '401d 401d 401d 401d 403d 403d 403d 403d 403d 403d',
    'POST /api/v1/auth/universal-auth/login':                               '400  400  400  400  400  400  400  400  400  400',
    'POST /api/v1/auth/token/renew':                                        '400  400  400  400  400  400  400  400  400  400',
    'POST /api/v1/auth/token/revoke':                                       '400  400  400  400  400  400  400  400  400  400',
    'GET /api/v3/secrets/raw':                                              '401d 401d 401d 401d 200r 200r 200r 200r 200r 404d',
    'GET /api/v3/secrets/raw/:secretName':                                  '401d 401d 401d 401d 200r 200r 200r 200r 200r 404d',
    'POST /api/v3/secrets/raw/:secretName':                                 '401d 401d 401d 401d 403d 200rw 200rw 200rw 200rw 404d',
    'PATCH /api/v3/secrets/raw/:secretName':                                '401d 401d 401d 401d 403d 200rw 200rw 200rw 200rw 404d',
    'DELETE /api/v3/secrets/raw/:secretName':                               '401d 401d 401d 401d 403d 200rw 200rw 200rw 200rw 404d',
    'GET /api/v4/secrets':                                                  '401d 401d 401d 401d 200r 200r 200r 200r 200r 404d',
    'POST /api/v3/secrets/batch/raw':                                       '401d 401d 401d 401d 403d 200rw 200rw 200rw 200rw 404d',
    'PATCH /api/v3/secrets/batch/raw':                                      '401d 401d 401d 401d 403d 200rw 200rw 200rw 200rw 404d',
    'DELETE /api/v3/secrets/batch/raw':                                     '401d 401d 401d 401d 403d 200rw 200rw 200rw 200rw 404d',
    'POST /api/v4/secrets/batch':                                           '401d 401d 401d 401d 403d 200rw 200rw 200rw 200rw 404d',
    'PATCH /api/v4/secrets/batch':                                          '401d 401d 401d 401d 403d 200rw 200rw 200rw 200rw 404d',
    'DELETE /api/v4/secrets/batch':                                         '401d 401d 401d 401d 403d 200rw 200rw 200rw 200rw 404d',
    'GET /api/v4/secrets/:secretName':                                      '401d 401d 401d 401d 200r 200r 200r 200r 200r 404d',
    'POST /api/v4/secrets/:secretName':                                     '401d 401d 401d 401d 403d 200rw 200rw 200rw 200rw 404d',
    'PATCH /api/v4/secrets/:secretName':                                    '401d 401d 401d 401d 403d 200rw 200rw 200rw 200rw 404d',
    'DELETE /api/v4/secrets/:secretName':                                   '401d 401d 401d 401d 403d 200rw 200rw 200rw 200rw 404d',
    'POST /api/v2/workspace':                                               '401d 401d 401d 401d 400  400  400  400  400  400',
    'GET /api/v1/workspace':                                                '401d 401d 401d 401d 200  200  200  200  403d 200',
    'GET /api/v1/workspace/:workspaceId':                                   '401d 401d 401d 401d 200  200  200  200  200  404d',
    'POST /api/v1/workspace/:workspaceId/environments':                     '401d 401d 401d 401d 403d 403d 403d 403d 403d 404d',
    'GET /api/v1/workspace/:workspaceId/environments/:envId':               '401d 401d 401d 401d 200  200  200  200  200  404d',
    'PATCH /api/v1/workspace/:workspaceId/environments/:envId':             '401d 401d 401d 401d 403d 403d 403d 403d 403d 404d',
    'DELETE /api/v1/workspace/:workspaceId/environments/:envId':            '401d 401d 401d 401d 403d 403d 403d 403d 403d 404d',
    'GET /api/v1/workspace/:workspaceId/memberships':                       '401d 401d 401d 401d 200  200  403d 200  403d 404d',
    'POST /api/v2/workspace/:projectId/memberships':                        '401d 401d 401d 401d 403d 403d 403d 403d 403d 404d',
    'GET /api/v2/service-token':                                            '401d 401d 401d 401d 403d 403d 403d 403d 200  403d',
    'POST /api/arca/v1/projects/:projectId/environments':                   '401d 401d 401d 401d 403d 403d 403d 403d 403d 404d',
    'PATCH /api/arca/v1/projects/:projectId/environments/:slug':            '401d 401d 401d 401d 403d 403d 403d 403d 403d 404d',
    'DELETE /api/arca/v1/projects/:projectId/environments/:slug':           '401d 401d 401d 401d 403d 403d 403d 403d 403d 404d',
    'GET /api/v1/folders':                                                  '401d 401d 401d 401d 200  200  200  200  200  404d',
    'POST /api/v1/folders':                                                 '401d 401d 401d 401d 403d 200w 403d 200w 403d 404d',
    'GET /api/v1/folders/:folderId':                                        '401d 401d 401d 401d 200  200  200  200  200  404d',
    'PATCH /api/v1/folders/:folderId':                                      '401d 401d 401d 401d 400  400  400  400  400  400',
    'DELETE /api/v1/folders/:folderIdOrName':                               '401d 401d 401d 401d 403d 200w 403d 200w 403d 404d',
    'GET /api/v2/folders':                                                  '401d 401d 401d 401d 200  200  200  200  200  404d',
    'POST /api/v2/folders':                                                 '401d 401d 401d 401d 403d 200w 403d 200w 403d 404d',
    'GET /api/v2/folders/:folderId':                                        '401d 401d 401d 401d 200  200  200  200  200  404d',
    'PATCH /api/v2/folders/:folderId':                                      '401d 401d 401d 401d 400  400  400  400  400  400',
    'DELETE /api/v2/folders/:folderIdOrName':                               '401d 401d 401d 401d 403d 200w 403d 200w 403d 404d',
    'GET /api/v1/secret-imports':                                           '401d 401d 401d 401d 200  200  200  200  200  404d',
    'POST /api/v1/secret-imports':                                          '401d 401d 401d 401d 403d 200w 403d 200w 403d 404d',
    'PATCH /api/v1/secret-imports/:secretImportId':                         '401d 401d 401d 401d 400  400  400  400  400  400',
    'DELETE /api/v1/secret-imports/:secretImportId':                        '401d 401d 401d 401d 404  404  404  404  404  404',
    'GET /api/v2/secret-imports':                                           '401d 401d 401d 401d 200  200  200  200  200  404d',
    'POST /api/v2/secret-imports':                                          '401d 401d 401d 401d 403d 200w 403d 200w 403d 404d',
    'PATCH /api/v2/secret-imports/:secretImportId':                         '401d 401d 401d 401d 400  400  400  400  400  400',
    'DELETE /api/v2/secret-imports/:secretImportId':                        '401d 401d 401d 401d 404  404  404  404  404  404',
};
/* eslint-enable max-len */

/* Logout ends the session it is called with: users call it with a second
 * session of theirs (logout), so that their first one stays for the rest. */
const LOGOUT = 'POST /api/arca/v1/auth/logout';

let srv;
let owner;
let project;
const tokens = {};
const logout = {}; /* principal -> a second session token, for the logout route */
const ids = {};
const spareTokens = {}; /* principal -> a service token id it may revoke */
let folderId; /* prod:/app */
let stagingId;

const K = (p) => p.toUpperCase();

async function ok(c, args, opts) {
    const r = await c.arca(args, opts);
    assert.equal(r.code, 0, `arca ${args.join(' ')}: ${r.stderr}`);
    return r;
}

/* "METHOD /path" of every route in router.c. */
async function routerRoutes() {
    const text = await readFile(path.join(REPO_ROOT, 'src/server/router.c'), 'utf8');
    const out = [];
    for (const m of text.matchAll(/\{\s*"(GET|POST|PUT|PATCH|DELETE)",\s*(A\s+)?"([^"]+)"/g))
        out.push(`${m[1]} ${m[2] ? V1 : ''}${m[3]}`);
    return out;
}

/* The request of route (index n in router.c) for principal p: [method, url,
 * body].  Keys to create and delete end in sfx ('' the first time). */
function request(route, n, p, sfx = '') {
    const [method, pattern] = route.split(' ');
    const pid = project.id;
    const where = { environment: 'prod', secretPath: '/app' };
    const q = `environment=prod&secretPath=%2Fapp`;
    const key = method === 'GET' ? 'KEY' : method === 'DELETE' ? `D${n}_${K(p)}${sfx}`
        : method === 'PATCH' ? `U_${K(p)}` : `C${n}_${K(p)}${sfx}`;
    const params = {
        projectId: pid, workspaceId: pid, key, secretName: key, principalId: ids.spare, slug: 'staging',
        identityId: ids.spareIdentity, secretId: randomUUID(), tokenId: spareTokens[p] ?? randomUUID(),
        folderIdOrName: `fd${n}-${p}`, folderId, importId: randomUUID(), secretImportId: randomUUID(),
        inviteId: randomUUID(), userId: randomUUID(),
        envId: stagingId,
    };
    let url = pattern.replace(/:([A-Za-z]+)/g, (_, name) => params[name]);
    const v4 = url.startsWith('/api/v4/');
    const wsField = v4 ? 'projectId' : 'workspaceId';
    let body;
    const r = route.replace(V1, '');
    if (/^GET \/api\/v[34]\/secrets/.test(route))
        url += `?${wsField}=${pid}&${q}`;
    else if (/^(POST|PATCH|DELETE) \/api\/v[34]\/secrets\/batch/.test(route))
        body = { [wsField]: pid, ...where, secrets: [method === 'POST'
            ? { secretKey: `C${n}_${K(p)}${sfx}`, secretValue: `${CANARY}-b${n}` }
            : method === 'PATCH' ? { secretKey: `U_${K(p)}`, secretComment: `batch ${n}` }
                : { secretKey: `D${n}_${K(p)}${sfx}` }] };
    else if (/^(POST|PATCH|DELETE) \/api\/v[34]\/secrets/.test(route))
        body = { [wsField]: pid, ...where, ...(method === 'DELETE' ? {}
            : { secretValue: `${CANARY}-${n}` }) };
    else if (/^GET \/projects\/:projectId\/secrets/.test(r) || r === 'DELETE /projects/:projectId/secrets/:key' ||
        r === 'GET /projects/:projectId/watch') /* the change feed: no cursor, answered at once */
        url += `?${q}`;
    else if (r === 'POST /projects/:projectId/secrets/batch') /* a delete: no made-up ciphertext */
        body = { ...where, secrets: [{ key: `D${n}_${K(p)}${sfx}`, delete: true }] };
    else if (r === 'POST /projects/:projectId/secrets/:key/rollback')
        body = { ...where, version: 1 };
    else if (r === 'POST /projects/:projectId/secrets/rollback') /* an empty folder: nothing to undo */
        body = { environment: 'prod', secretPath: `/app/empty-${p}`, to: '2000-01-01T00:00:00Z' };
    else if (/^GET (\/projects\/:projectId\/(folders|imports)|\/api\/v[12]\/(folders|secret-imports))$/.test(r))
        url += `?${v4 || /v2/.test(r) ? 'projectId' : 'workspaceId'}=${pid}&environment=prod&path=%2Fapp` +
            `&secretPath=%2Fapp&directory=%2Fapp`;
    else if (/^(GET|PATCH) \/api\/v[12]\/folders\/:folderId$/.test(r))
        body = method === 'PATCH' ? { workspaceId: pid, projectId: pid, environment: 'prod', name: 'x' }
            : undefined;
    else if (/^DELETE (\/projects\/:projectId\/folders|\/api\/v[12]\/folders)\//.test(r))
        url += `?environment=prod&path=%2Fapp&secretPath=%2Fapp&workspaceId=${pid}&projectId=${pid}`;
    else if (/^(POST|PATCH|DELETE) (\/projects\/:projectId\/(folders|imports)|\/api\/v[12]\/(folders|secret-imports))/.test(r))
        body = { workspaceId: pid, projectId: pid, environment: 'prod', path: '/app', directory: '/app',
            secretPath: '/app', name: `f${n}-${p}`,
            import: { environment: 'dev', path: `/src${n}-${p}` }, importEnv: 'dev', importPath: `/src${n}-${p}` };
    else if (r === 'POST /projects/:projectId/members' || r === 'POST /api/v2/workspace/:projectId/memberships')
        body = { principalType: 'user', principalId: ids.spare, role: 'viewer', emails: ['spare@example.com'],
            encryptedProjectKey: randomBytes(80).toString('base64') };
    else if (r === 'PATCH /projects/:projectId/members/:principalId')
        body = { role: 'member' };
    else if (r === 'POST /projects/:projectId/roles')
        body = { slug: `r-${p}`, rules: [{ subject: 'secrets', actions: ['read'], environments: ['dev'] }] };
    else if (r === 'PATCH /projects/:projectId/roles/:slug')
        body = { name: `Role ${p}` };
    else if (r === 'POST /projects/:projectId/service-tokens')
        body = { name: `t-${p}`, scopes: [{ environment: 'prod', secretPath: '/app' }], access: 'read',
            expiresIn: 0, encryptedProjectKey: fakeRecord(73) };
    else if (/^POST .*environments$/.test(r))
        body = { name: `Env ${p}`, slug: `env-${p}` };
    else if (/^PATCH .*environments\//.test(r))
        body = { name: `Staging ${p}` };
    else if (r === 'POST /projects/:projectId/rotate-key')
        body = { members: [], versions: [] };
    else if (r === 'POST /invites')
        body = { email: `invited-${p}@example.com` };
    else if (r === 'GET /users/lookup')
        url += '?email=owner%40example.com';
    else if (r === 'GET /audit-logs')
        url += `?projectId=${pid}&limit=1`;
    else if (method !== 'GET' && method !== 'DELETE')
        body = {}; /* incomplete on purpose: allowed callers get 400 */
    return [method, url, body];
}

/* What a reply carries that is secret material (a value, a ciphertext, a
 * wrapped key), or null. */
function secretIn(json, text) {
    if (text.includes(CANARY))
        return 'a plaintext value';
    let found = null;
    const walk = (x) => {
        if (found || x === null || typeof x !== 'object')
            return;
        for (const [k, v] of Object.entries(x)) {
            if (typeof v === 'string' && v.length > 0 &&
                (k === 'value' || k === 'encryptedProjectKey' || k === 'encryptedPrivateKey' ||
                 (k === 'secretValue' && v !== HIDDEN)))
                found = `'${k}'`;
            walk(v);
        }
    };
    walk(json);
    return found;
}

const REFUSALS = new Set(['permission.denied', 'auth.token.missing', 'auth.token.invalid', 'auth.ip.denied']);
const READS = new Set(['secret.read', 'secret.list', 'secret.versions', 'project.versions',
    'project.key.read', 'service-token.key.read', 'user.key.read']);

function letter(event, outcome) {
    if (REFUSALS.has(event))
        return 'd';
    if (outcome === 'failure' || outcome === 'denied')
        return 'f';
    return READS.has(event) ? 'r' : 'w';
}

/* The records of every cell whose User-Agent starts with tag: ua -> letters. */
async function recordsBy(tag) {
    const out = await storeSql(srv, `SELECT user_agent, event, outcome FROM audit_log ` +
        `WHERE user_agent LIKE '${tag}%' ORDER BY seq`);
    const by = new Map();
    for (const line of out.split('\n').filter(Boolean)) {
        const [ua, event, outcome] = line.split('|');
        by.set(ua, (by.get(ua) ?? '') + letter(event, outcome));
    }
    return by;
}

/* Runs the cells (route names, all principals in parallel, each on its own
 * address); returns cell -> {status, text, json, ua}. */
async function runCells(routes, tag) {
    const all = await routerRoutes();
    const results = new Map();
    await Promise.all(PRINCIPALS.map(async (p, pi) => {
        for (const route of routes) {
            const n = all.indexOf(route);
            const [method, url, body] = request(route, n, p);
            const ua = `${tag}${n}/${p}`;
            const token = route === LOGOUT ? logout[p] ?? tokens[p] : tokens[p];
            const res = await apiCall(srv, method, url, { token, body, localAddress: `127.0.0.${10 + pi}`,
                headers: { 'User-Agent': ua } });
            results.set(`${route}|${p}`, { ...res, ua });
        }
    }));
    return results;
}

/* The secrets the delete routes delete (sfx: see request). */
async function makeDeletable(sfx) {
    const all = await routerRoutes();
    const keys = [];
    for (const [n, r] of all.entries())
        if (/^DELETE .*(secrets|batch)/.test(r) || r === `POST ${V1}/projects/:projectId/secrets/batch`)
            for (const p of PRINCIPALS)
                keys.push(`D${n}_${K(p)}${sfx}`);
    await ok(owner, ['secrets', 'set', ...keys.map((k) => `${k}=${CANARY}-${k}`), '--env', 'prod', '--path',
        '/app', '--project-id', project.id]);
}

before(async () => {
    srv = await startServer();
    owner = await newCli(srv);
    await bootstrapAndLogin(owner, { email: 'owner@example.com' });
    const pr = await ok(owner, ['projects', 'create', 'matrix', '--server-access', '--format', 'json']);
    project = JSON.parse(pr.stdout);
    const pid = ['--project-id', project.id];
    const people = {};
    for (const p of ['viewer', 'member', 'custom', 'other', 'spare']) {
        people[p] = await inviteAndSignup(owner, srv, `${p}@example.com`);
        tokens[p] = await readToken(people[p].cli);
        ids[p] = (await apiCall(srv, 'GET', `${V1}/users/me`, { token: tokens[p] })).json.user.id;
        const second = await newCli(srv);
        await ok(second, ['login', '--email', `${p}@example.com`, '--password-stdin'],
            { input: people[p].password + '\n' });
        logout[p] = await readToken(second);
    }
    await ok(owner, ['roles', 'create', 'custom', ...pid, '--allow',
        'secrets:read,create,edit,delete:dev,prod:/app/**', '--deny', 'secrets:*:prod:/app/private/**']);
    for (const [p, role] of [['viewer', 'viewer'], ['member', 'member'], ['custom', 'custom']])
        await ok(owner, ['members', 'add', `${p}@example.com`, '--role', role, ...pid]);
    await createProject(people.other.cli, 'elsewhere');

    /* secrets in prod:/app: one to read, one per principal to update, and
     * one per principal and delete route */
    const all = await routerRoutes();
    await ok(owner, ['secrets', 'set', ...['KEY', ...PRINCIPALS.map((p) => `U_${K(p)}`)]
        .map((k) => `${k}=${CANARY}-${k}`), '--env', 'prod', '--path', '/app', ...pid]);
    await makeDeletable('');
    const fl = await apiCall(srv, 'GET', `/api/v1/folders?workspaceId=${project.id}&environment=prod&path=%2F`,
        { token: await readToken(owner) });
    folderId = fl.json.folders.find((f) => f.name === 'app').id;
    stagingId = (await apiCall(srv, 'GET', `/api/v1/workspace/${project.id}`, { token: await readToken(owner) }))
        .json.workspace.environments.find((e) => e.slug === 'staging').id;
    /* folders to delete (prod:/app/fd<n>-<p>) and to import (dev:/src<n>-<p>), one per
     * principal and route */
    const folders = [];
    for (const [n, r] of all.entries())
        for (const p of PRINCIPALS)
            if (/^DELETE .*folders/.test(r))
                folders.push({ environment: 'prod', path: '/app', name: `fd${n}-${p}` });
            else if (/^POST .*(imports|secret-imports)$/.test(r))
                folders.push({ environment: 'dev', path: '/', name: `src${n}-${p}` });
    const ownerToken = await readToken(owner);
    await Promise.all(folders.map(async (f) => {
        const res = await apiCall(srv, 'POST', `${V1}/projects/${project.id}/folders`, { token: ownerToken, body: f });
        assert.equal(res.status, 200, `folder ${f.environment}:${f.path}/${f.name}: ${res.text}`);
    }));

    /* machines */
    const ident = async (name, extra) => {
        const j = JSON.parse((await ok(owner, ['identities', 'create', name, ...extra, '--format', 'json'])).stdout);
        const c = await newCli(srv);
        await ok(c, ['login', '--method=universal-auth', '--client-id', j.clientId, '--client-secret', j.clientSecret]);
        return { ...j, token: await readCredentialMatching(c, /^arca_i_/) };
    };
    tokens.identity = (await ident('bot', [...pid, '--role', 'member'])).token;
    ids.spareIdentity = (await ident('spare-bot', [])).identityId;
    const brief = await ident('brief', [...pid, '--role', 'viewer', '--access-token-ttl', '1s',
        '--access-token-max-ttl', '1s']);
    tokens.expired = brief.token;
    const st = async (name, extra) => serviceTokenBearer(serviceTokenIn((await ok(owner, ['service-token', 'create',
        '--name', name, ...pid, ...extra])).stdout));
    tokens.service = await st('svc', ['--env=prod', '--path', '/app', '--access', 'read-write']);
    tokens.revoked = await st('gone', ['--env=prod', '--path', '/app']);
    const rv = await apiCall(srv, 'DELETE', `${V1}/projects/${project.id}/service-tokens/${tokens.revoked.split('.')[1]}`,
        { token: await readToken(owner) });
    assert.equal(rv.status, 200, rv.text);
    for (const p of PRINCIPALS)
        spareTokens[p] = (await st(`spare-${p}`, ['--env=prod', '--path', '/app'])).split('.')[1];
    tokens.none = null;
    tokens.bad = 'arca_s_' + randomBytes(32).toString('base64url');
    await waitFor(async () => (await apiCall(srv, 'GET', `${V1}/projects`, { token: tokens.expired })).status === 401,
        { timeoutMs: 10000, what: 'the 1 s token to expire' });
});

after(async () => {
    await srv?.kill();
    await removeTempDirs();
});

test('every route of router.c has a row, and every row a route', T, async () => {
    const routes = await routerRoutes();
    assert.ok(routes.length > 90, `routes read from router.c: ${routes.length}`);
    const missing = routes.filter((r) => !(r in EXPECTED));
    const stale = Object.keys(EXPECTED).filter((r) => !routes.includes(r));
    assert.deepEqual(missing, [], 'routes without a row in EXPECTED');
    assert.deepEqual(stale, [], 'rows without a route');
    for (const [r, row] of Object.entries(EXPECTED))
        assert.equal(row.trim().split(/\s+/).length, PRINCIPALS.length, `row '${r}' has a cell per principal`);
});

let firstRun;

test('the matrix: each cell\'s status and audit records', T, async (t) => {
    const routes = await routerRoutes();
    firstRun = await runCells(routes, 'matrix/');
    const records = await recordsBy('matrix/');
    const wrong = [];
    const observed = {};
    for (const route of routes) {
        const cells = [];
        for (const [pi, p] of PRINCIPALS.entries()) {
            const res = firstRun.get(`${route}|${p}`);
            const got = `${res.status}${[...(records.get(res.ua) ?? '')].sort().join('')}`;
            cells.push(got);
            const want = EXPECTED[route]?.trim().split(/\s+/)[pi];
            if (got !== want)
                wrong.push(`${route} as ${p}: want ${want}, got ${got}: ${res.text.slice(0, 160)}`);
            const secret = res.status < 300 ? secretIn(res.json, res.text) : null;
            if (secret && !got.includes('r'))
                wrong.push(`${route} as ${p}: the reply carries ${secret} without a read record`);
        }
        observed[route] = cells.map((c) => c.padEnd(4)).join(' ');
    }
    if (process.env.MATRIX_PRINT) {
        for (const [r, row] of Object.entries(observed))
            t.diagnostic(`    '${r}': '${row.trimEnd()}',`);
        for (const route of routes)
            for (const p of PRINCIPALS.filter((x) => x === process.env.MATRIX_PRINT)) {
                const res = firstRun.get(`${route}|${p}`);
                t.diagnostic(`${route} ${p} ${res.status} ${res.text.slice(0, 150)}`);
            }
    }
    t.diagnostic(`${routes.length} routes × ${PRINCIPALS.length} principals, ${wrong.length} wrong`);
    assert.deepEqual(wrong, []);
});

test('with the audit log unwritable, every cell that serves secret material answers 503', T, async () => {
    assert.ok(firstRun, 'the matrix ran');
    const cells = Object.entries(EXPECTED).flatMap(([route, row]) => row.trim().split(/\s+/)
        .map((c, pi) => [route, PRINCIPALS[pi], c]).filter(([, , c]) => c.includes('r')));
    assert.ok(cells.length >= 20, `cells that read secret material: ${cells.length}`);
    const refuse = PG_MODE
        ? `CREATE TRIGGER audit_log_refuse BEFORE INSERT ON audit_log FOR EACH ROW ` +
          `EXECUTE FUNCTION arca_refuse('test: the audit log cannot be written');`
        : `CREATE TRIGGER audit_log_refuse BEFORE INSERT ON audit_log ` +
          `BEGIN SELECT RAISE(ABORT, 'test: the audit log cannot be written'); END;`;
    await makeDeletable('_2');
    await storeSql(srv, refuse);
    const all = await routerRoutes();
    const wrong = [];
    try {
        await Promise.all(PRINCIPALS.map(async (p, pi) => {
            for (const [route] of cells.filter(([, q]) => q === p)) {
                const n = all.indexOf(route);
                const [method, url, body] = request(route, n, p, '_2');
                const res = await apiCall(srv, method, url, { token: tokens[p], body,
                    localAddress: `127.0.0.${10 + pi}`, headers: { 'User-Agent': `unwritable/${n}/${p}` } });
                const secret = secretIn(res.json, res.text);
                if (res.status !== 503 || secret)
                    wrong.push(`${route} as ${p}: ${res.status}${secret ? `, carrying ${secret}` : ''}: ` +
                        `${res.text.slice(0, 120)}`);
            }
        }));
    } finally {
        await storeSql(srv, PG_MODE ? 'DROP TRIGGER audit_log_refuse ON audit_log;' : 'DROP TRIGGER audit_log_refuse;');
    }
    assert.deepEqual(wrong, []);
    assert.equal((await recordsBy('unwritable/')).size, 0, 'nothing was recorded meanwhile');
});
