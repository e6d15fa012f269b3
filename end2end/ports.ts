/** Where the suite's servers listen (start-server.sh, start-cluster.sh). */
export const serverPort = Number(process.env.VIGIL_E2E_PORT ?? 3100);
/** haproxy in front of the cluster's three instances... */
export const clusterPort = Number(process.env.VIGIL_E2E_CLUSTER_PORT ?? 3200);
/** ...which listen on the three ports after clusterPort + 10 (deploy/cluster.sh). */
export const instancePorts = [1, 2, 3].map((n) => clusterPort + 10 + n);
/** The packed release, unpacked and started by start-dist.sh. */
export const distPort = Number(process.env.VIGIL_E2E_DIST_PORT ?? 3300);
/** A server of its own for the absolute limit's test (absolute-limit.spec.ts). */
export const absolutePort = serverPort + 50;
