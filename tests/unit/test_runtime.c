/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * test_runtime.c - unit tests for the container metadata parsers: OCI runtime specs
 * as containerd's CRI plugin, CRI-O, podman and ctr --privileged write them, the
 * Docker-compatible inspect answer, image names, times; and the worker end to end
 * over a state directory and a bundle laid out as runc leaves them, with an API
 * socket that never answers.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "state/runtime.h"

static struct container_meta m;

static void setup(void)
{
	memset(&m, 0, sizeof(m));
	m.privileged = -1;
}

static void teardown(void)
{
	container_meta_clear(&m);
}

TestSuite(runtime, .init = setup, .fini = teardown);

Test(runtime, cri_containerd_annotations)
{
	static const char spec[] =
	    "{\"ociVersion\":\"1.0.2\",\"process\":{\"capabilities\":{\"bounding\":"
	    "[\"CAP_CHOWN\",\"CAP_KILL\"]}},"
	    "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
	    "{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":"
	    "\"/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/x/hosts\","
	    "\"options\":[\"rbind\",\"rprivate\",\"rw\"]},"
	    "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/srv/data\","
	    "\"options\":[\"rbind\",\"rslave\",\"ro\"]}],"
	    "\"annotations\":{\"io.kubernetes.cri.container-type\":\"container\","
	    "\"io.kubernetes.cri.image-name\":\"docker.io/library/nginx:1.25\","
	    "\"io.kubernetes.cri.sandbox-name\":\"web-0\","
	    "\"io.kubernetes.cri.sandbox-namespace\":\"shop\","
	    "\"io.kubernetes.cri.sandbox-uid\":\"1234-5678\","
	    "\"io.kubernetes.cri.container-name\":\"nginx\"}}";

	cr_assert_eq(runtime_parse_spec(spec, &m), 0);
	cr_assert_str_eq(m.name, "nginx", "in Kubernetes, the pod spec's name");
	cr_assert_str_eq(m.k8s_container, "nginx");
	cr_assert_str_eq(m.image, "docker.io/library/nginx:1.25");
	cr_assert_str_eq(m.pod_name, "web-0");
	cr_assert_str_eq(m.pod_ns, "shop");
	cr_assert_str_eq(m.pod_uid, "1234-5678");
	cr_assert_null(m.image_id);
	cr_assert_eq(m.privileged, 0);
	/* only the mount a user asked for: not proc, not the runtime's own hosts file */
	cr_assert_eq(m.n_mounts, 1);
	cr_assert_str_eq(m.mounts[0].source, "/srv/data");
	cr_assert_str_eq(m.mounts[0].dest, "/data");
	cr_assert_not(m.mounts[0].rw);
	cr_assert_str_eq(m.mounts[0].propagation, "rslave");
	cr_assert_eq(m.sources, CONTAINER_META_SPEC);
}

Test(runtime, crio_annotations_and_pod_labels)
{
	static const char spec[] =
	    "{\"annotations\":{\"io.kubernetes.pod.name\":\"api-7d\","
	    "\"io.kubernetes.pod.namespace\":\"prod\",\"io.kubernetes.pod.uid\":\"u-1\","
	    "\"io.kubernetes.container.name\":\"api\","
	    "\"io.kubernetes.cri-o.ImageName\":\"quay.io/acme/api@sha256:abcd\","
	    "\"io.kubernetes.cri-o.ImageRef\":\"sha256:0123456789ab\","
	    "\"io.kubernetes.cri-o.Labels\":\"{\\\"app\\\":\\\"api\\\",\\\"tier\\\":"
	    "\\\"backend\\\"}\"}}";

	cr_assert_eq(runtime_parse_spec(spec, &m), 0);
	cr_assert_str_eq(m.pod_name, "api-7d");
	cr_assert_str_eq(m.pod_ns, "prod");
	cr_assert_str_eq(m.name, "api");
	cr_assert_str_eq(m.image, "quay.io/acme/api@sha256:abcd");
	cr_assert_str_eq(m.image_id, "0123456789ab", "without its sha256: prefix");
	cr_assert_eq(m.n_pod_labels, 2);
	cr_assert_str_eq(container_label_get(m.pod_labels, m.n_pod_labels, "tier"), "backend");
	cr_assert_eq(m.privileged, -1 + 1, "no annotation, no CAP_SYS_ADMIN: not privileged");
}

Test(runtime, privileged_from_caps_and_devices_or_podman)
{
	static const char ctr_priv[] =
	    "{\"process\":{\"capabilities\":{\"bounding\":[\"CAP_SYS_ADMIN\",\"CAP_NET_ADMIN\"]}},"
	    "\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
	    "{\"allow\":true,\"access\":\"rwm\"}]}}}";
	static const char caps_only[] =
	    "{\"process\":{\"capabilities\":{\"bounding\":[\"CAP_SYS_ADMIN\"]}},"
	    "\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
	    "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rwm\"}]}}}";
	static const char podman[] =
	    "{\"annotations\":{\"io.podman.annotations.privileged\":\"TRUE\"}}";

	cr_assert_eq(runtime_parse_spec(ctr_priv, &m), 0);
	cr_assert_eq(m.privileged, 1);
	container_meta_clear(&m);
	cr_assert_eq(runtime_parse_spec(caps_only, &m), 0);
	cr_assert_eq(m.privileged, 0, "CAP_SYS_ADMIN alone, one device: not privileged");
	container_meta_clear(&m);
	cr_assert_eq(runtime_parse_spec(podman, &m), 0);
	cr_assert_eq(m.privileged, 1);
}

Test(runtime, docker_inspect_answer)
{
	static const char answer[] =
	    "{\"Id\":\"e837\",\"Name\":\"/metaprobe\",\"Image\":\"sha256:25fd6a\","
	    "\"State\":{\"StartedAt\":\"2026-12-05T19:10:27.5Z\"},"
	    "\"HostConfig\":{\"Privileged\":true},"
	    "\"Config\":{\"Image\":\"localhost/busybox:1.36\",\"Labels\":{\"app\":\"probe\","
	    "\"io.kubernetes.pod.name\":\"p\",\"io.kubernetes.pod.namespace\":\"ns\"}},"
	    "\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/tmp\",\"Destination\":\"/hosttmp\","
	    "\"Mode\":\"z\",\"RW\":false,\"Propagation\":\"rprivate\"}]}";

	m.mounts = calloc(1, sizeof(*m.mounts)); /* a spec's guess the API replaces */
	m.mounts[0] =
	    (struct container_mount){strdup("/a"), strdup("/b"), strdup(""), strdup(""), true};
	m.n_mounts = 1;
	cr_assert_eq(runtime_parse_inspect(answer, &m), 0);
	cr_assert_str_eq(m.name, "metaprobe", "docker's leading slash goes");
	cr_assert_str_eq(m.image, "localhost/busybox:1.36");
	cr_assert_str_eq(m.image_id, "25fd6a");
	cr_assert_eq(m.privileged, 1);
	cr_assert_eq(m.start_ns, 1796497827500000000ull);
	cr_assert_str_eq(container_label_get(m.labels, m.n_labels, "app"), "probe");
	cr_assert_str_eq(m.pod_name, "p");
	cr_assert_str_eq(m.pod_ns, "ns");
	cr_assert_eq(m.n_pod_labels, 1, "the pod's labels: not the io.kubernetes ones");
	cr_assert_eq(m.n_mounts, 1);
	cr_assert_str_eq(m.mounts[0].dest, "/hosttmp");
	cr_assert_str_eq(m.mounts[0].mode, "z");
	cr_assert_eq(m.sources, CONTAINER_META_API);
}

Test(runtime, bounds_and_bad_text)
{
	char *spec = malloc(200000), *p = spec;

	p += sprintf(p, "{\"mounts\":[");
	for (int i = 0; i < 100; i++)
		p +=
		    sprintf(p, "%s{\"destination\":\"/d%d\",\"type\":\"bind\",\"source\":\"/s%d\"}",
			    i ? "," : "", i, i);
	p += sprintf(p, "],\"annotations\":{\"io.kubernetes.cri.sandbox-name\":\"");
	for (int i = 0; i < 10000; i++)
		*p++ = 'x';
	sprintf(p, "\"}}");
	cr_assert_eq(runtime_parse_spec(spec, &m), 0);
	cr_assert_eq(m.n_mounts, CONTAINER_META_MOUNTS);
	cr_assert_eq(m.truncated, 100 - CONTAINER_META_MOUNTS, "what is left out is counted");
	cr_assert_eq(strlen(m.pod_name), 4096, "strings are bounded");
	free(spec);
	container_meta_clear(&m);
	cr_assert_eq(runtime_parse_spec("{\"annotations\":", &m), -EINVAL);
	cr_assert_eq(runtime_parse_inspect("not json", &m), -EINVAL);
	cr_assert_null(m.name);
}

Test(runtime, image_names)
{
	static const struct {
		const char *image, *repo, *tag;
	} cases[] = {
	    {"docker.io/library/nginx:1.25", "docker.io/library/nginx", "1.25"},
	    {"nginx", "nginx", NULL},
	    {"localhost:5000/team/app", "localhost:5000/team/app", NULL},
	    {"localhost:5000/team/app:v2", "localhost:5000/team/app", "v2"},
	    {"quay.io/acme/api@sha256:abcd", "quay.io/acme/api", NULL},
	    {"quay.io/acme/api:1.0@sha256:abcd", "quay.io/acme/api", "1.0"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t rl, tl;
		const char *tag;

		runtime_image_split(cases[i].image, &rl, &tag, &tl);
		cr_assert_eq(rl, strlen(cases[i].repo), "%s", cases[i].image);
		cr_assert_eq(strncmp(cases[i].image, cases[i].repo, rl), 0);
		if (!cases[i].tag) {
			cr_assert_null(tag, "%s has no tag", cases[i].image);
			continue;
		}
		cr_assert_eq(tl, strlen(cases[i].tag), "%s", cases[i].image);
		cr_assert_eq(strncmp(tag, cases[i].tag, tl), 0);
	}
}

Test(runtime, times)
{
	cr_assert_eq(runtime_parse_time("2026-12-05T19:10:27.647012438Z"), 1796497827647012438ull);
	cr_assert_eq(runtime_parse_time("2026-12-05T20:10:27+01:00"), 1796497827000000000ull);
	cr_assert_eq(runtime_parse_time("0001-01-01T00:00:00Z"), 0, "the zero time: unknown");
	cr_assert_eq(runtime_parse_time("yesterday"), 0);
	cr_assert_eq(runtime_parse_time(NULL), 0);
}

/* ---- the worker over files laid out as runc leaves them ---- */

static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

Test(runtime, worker_reads_state_dir_and_bundle_and_counts_a_dead_api)
{
	static const char id[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char dir[] = "/tmp/vigil-runtime-XXXXXX", path[512], text[1024], sock[600];
	const char *state_dirs[1], *sockets[1];
	struct containers *ct = containers__new(16);
	const struct container_entry *e = NULL;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct runtime_stats st;
	struct runtime *rt;
	char cg[200];
	int lfd;

	cr_assert_not_null(mkdtemp(dir));
	/* a state root with a namespace level, as containerd's */
	snprintf(path, sizeof(path), "%s/state", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/state/k8s.io", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/state/k8s.io/%s", dir, id);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/bundle", dir);
	mkdir(path, 0700);
	snprintf(text, sizeof(text),
		 "{\"id\":\"%s\",\"created\":\"2026-12-05T19:10:27Z\",\"config\":{\"labels\":"
		 "[\"io.kubernetes.cri.sandbox-name=x\",\"bundle=%s/bundle\"]}}",
		 id, dir);
	snprintf(path, sizeof(path), "%s/state/k8s.io/%s/state.json", dir, id);
	put_file(path, text);
	snprintf(path, sizeof(path), "%s/bundle/config.json", dir);
	put_file(path, "{\"annotations\":{\"io.kubernetes.cri.sandbox-name\":\"web-0\","
		       "\"io.kubernetes.cri.container-name\":\"nginx\"}}");
	/* an API socket that accepts and never answers: the deadline must end it */
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
	strcpy(sa.sun_path, sock);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(lfd, 8), 0);
	snprintf(path, sizeof(path), "%s/state", dir);
	state_dirs[0] = path;
	sockets[0] = sock;
	rt = runtime__start(ct, &(struct runtime_opts){.state_dirs = state_dirs,
						       .n_state_dirs = 1,
						       .api_sockets = sockets,
						       .n_api_sockets = 1,
						       .timeout_ms = 200});
	cr_assert_not_null(rt);
	/* a CRI container: its spec says it all, no API asked */
	snprintf(cg, sizeof(cg), "/kubepods/besteffort/pod1234abcd-0000-1111-2222-333344445555/%s",
		 id);
	containers__resolve(ct, 7, cg, strlen(cg));
	/* a podman container with no spec on disk: the dead API costs it its name */
	snprintf(cg, sizeof(cg), "/libpod_parent/libpod-%s",
		 "fedcba9876543210fedcba9876543210"
		 "fedcba9876543210fedcba9876543210");
	containers__resolve(ct, 8, cg, strlen(cg));
	for (int i = 0; i < 500; i++) {
		runtime__stats(rt, &st);
		e = containers__lookup(ct, 8);
		if (e && e->meta && containers__lookup(ct, 7)->meta)
			break;
		poll(NULL, 0, 10);
	}
	e = containers__lookup(ct, 7);
	cr_assert_not_null(e->meta, "the spec was read");
	cr_assert_str_eq(e->meta->pod_name, "web-0");
	cr_assert_str_eq(e->meta->name, "nginx");
	cr_assert_eq(e->meta->start_ns, 1796497800000000000ull + 27000000000ull);
	e = containers__lookup(ct, 8);
	cr_assert_not_null(e->meta, "answered without its spec, after the retries");
	cr_assert_null(e->meta->name);
	runtime__stats(rt, &st);
	cr_assert_eq(st.jobs, 2);
	cr_assert_eq(st.spec_read, 1);
	cr_assert_eq(st.spec_missing, 1);
	cr_assert_eq(st.api_failed, 1, "a socket past its deadline is counted");
	cr_assert_eq(st.api_ok, 0);
	runtime__stop(rt);
	containers__free(ct);
	close(lfd);
	snprintf(text, sizeof(text), "rm -rf %s", dir);
	cr_assert_eq(system(text), 0);
}
