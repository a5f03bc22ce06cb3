#!/usr/bin/env python3
"""Checks the deployment files against their specifications and against the code.

Usage:
  check_deploy.py --code ROOT --deploy ROOT [--deploy ROOT …] --tandem BINARY
  check_deploy.py --code ROOT --write-rules-configmap     (regenerates deploy/k8s/rules-configmap.yaml)

--code is the repository whose sources are the truth (Package.swift, Shared/, Services/, rules/);
--deploy is the folder holding docker-compose.yml and deploy/ (the repository itself, or a broken
copy in a test; with several, each line starts with [folder name]); --tandem is the built `tandem` binary, asked for the flags of `tandem topics create`.

Static validation, offline:
  - docker-compose.yml against the Compose Specification's JSON Schema (the copy bundled in the
    `check-jsonschema` package, builtin schema vendor.compose-spec);
  - every Kubernetes object under deploy/k8s/ against the Kubernetes schemas of the
    `kubernetes-validate` package, strict (unknown fields rejected), for KUBERNETES_VERSIONS.
Cross-checks with the code: the binaries the Dockerfile copies and the files name are the
executable products of Package.swift; every service's port is the one its `main` declares; health
and metrics paths are routes of the service kit; every TANDEM_* variable is read somewhere in the
code and every other KAFKA_* variable names a librdkafka property (`kcat -X list`); the flags given
to `tandem topics create` exist; every tandem_* metric on the Grafana dashboard is created in the
code; Prometheus scrapes every service; the rules ConfigMap holds rules/tandem-rules.yaml.

Prints one line per problem and exits 1 if there is any; otherwise prints a summary and exits 0.
"""
import argparse
import importlib.resources
import json
import pathlib
import re
import subprocess
import sys
import warnings

import jsonschema
import yaml

warnings.filterwarnings("ignore")

KUBERNETES_VERSIONS = ["1.29.0", "1.35.0"]
SERVICE_BINARIES = ["tandem-intake", "tandem-segmentation", "tandem-leads", "tandem-kpi"]
RULES_CONFIGMAP = "deploy/k8s/rules-configmap.yaml"
# Schema verdicts per object (JSON text): the tests check many copies that differ in one place.
KUBERNETES_VERDICTS = {}


class Problems(list):
    def add(self, where, message):
        self.append(f"{where}: {message}")


# ---------------------------------------------------------------------------------------------
# What the code says


class Code:
    """Facts read from the sources (never from the deployment files)."""

    def __init__(self, root: pathlib.Path, tandem: str | None):
        self.root = root
        package = (root / "Package.swift").read_text(encoding="utf-8")
        self.products = set(re.findall(r'\.executable\(\s*name:\s*"([^"]+)"', package))
        sources = {}
        for folder in ("Shared", "Services"):
            for path in (root / folder).rglob("*.swift"):
                sources[path] = path.read_text(encoding="utf-8")
        everything = "\n".join(sources.values())
        # Service binaries and their default ports, from each executable's `TandemService.main`.
        self.ports = {}
        for path, text in sources.items():
            for name, port in re.findall(r'TandemService\.main\(\s*name:\s*"(\w+)",\s*defaultPort:\s*(\d+)', text):
                if path.parent.name == "Main":
                    self.ports[f"tandem-{name}"] = int(port)
        # HTTP routes of the service kit and the services' own endpoints.
        runner = (root / "Shared/ServiceKit/ServiceRunner.swift").read_text(encoding="utf-8")
        self.routes = set(re.findall(r'"(/[A-Za-z0-9/_.-]+)":\s*\{', runner))
        self.routes |= set(re.findall(r'let path = "(/[^"]+)"', everything))
        # Environment variables the code reads.
        self.tandem_variables = set(re.findall(r'"(TANDEM_[A-Z0-9_]+)"', everything))
        self.kafka_variables = set(re.findall(r'"(KAFKA_[A-Z0-9_]+)"', everything))
        # Metrics: swift-metrics labels; a Timer is a Prometheus histogram (_bucket, _sum, _count).
        self.metrics = set()
        for kind, label in re.findall(r'\b(Counter|Gauge|Timer|Recorder|Meter)\(\s*label:\s*"(tandem_\w+)"', everything):
            if kind in ("Timer", "Recorder"):
                self.metrics |= {label + "_bucket", label + "_sum", label + "_count"}
            else:
                self.metrics.add(label)
        self.rules = (root / "rules/tandem-rules.yaml").read_text(encoding="utf-8")
        self.kafka_properties = librdkafka_properties()
        self.topics_flags = topics_create_flags(tandem) if tandem else None


def librdkafka_properties():
    """Every librdkafka configuration property, from `kcat -X list` (kcat links librdkafka)."""
    try:
        output = subprocess.run(["kcat", "-X", "list"], capture_output=True, text=True, timeout=30).stdout
    except FileNotFoundError:
        return None
    return set(re.findall(r"^([a-z][a-z0-9._]+)\s+\|", output, re.MULTILINE))


def topics_create_flags(tandem):
    output = subprocess.run([tandem, "topics", "create", "--help"], capture_output=True, text=True, timeout=30)
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[A-Za-z])\b", output.stdout + output.stderr))


def kafka_property(variable):
    """KAFKA_SECURITY_PROTOCOL → security.protocol; __ stands for _ (as ServiceConfiguration)."""
    return variable[len("KAFKA_"):].lower().replace("__", "\0").replace("_", ".").replace("\0", "_")


def check_variable(problems, where, name, code):
    if name.startswith("TANDEM_"):
        if name not in code.tandem_variables:
            problems.add(where, f"environment variable {name} is read nowhere in the code")
    elif name.startswith("KAFKA_"):
        if name == "KAFKA_BROKERS" or name in code.kafka_variables:
            return
        prop = kafka_property(name)
        if code.kafka_properties is None:
            problems.add(where, "kcat is missing: cannot check KAFKA_* variables (run scripts/setup.sh)")
        elif prop not in code.kafka_properties:
            problems.add(where, f"environment variable {name} names no librdkafka property ({prop})")
    else:
        problems.add(where, f"environment variable {name} is neither TANDEM_* nor KAFKA_*: no Tandem binary reads it")


def check_tandem_command(problems, where, command, code):
    """A command run in the tandem image: a product binary, and for `tandem topics create` known flags."""
    if not command:
        problems.add(where, "no command: the image's default command only prints help")
        return None
    binary = command[0]
    if binary not in code.products:
        problems.add(where, f"command {binary} is not an executable product of Package.swift")
        return None
    if command[:3] == ["tandem", "topics", "create"] and code.topics_flags is not None:
        for argument in command[3:]:
            if argument.startswith("-"):
                flag = argument.split("=", 1)[0]
                if flag not in code.topics_flags:
                    problems.add(where, f"`tandem topics create` has no option {flag}")
    return binary


# ---------------------------------------------------------------------------------------------
# Dockerfile


def check_dockerfile(problems, deploy_root, code):
    where = "deploy/Dockerfile"
    path = deploy_root / where
    if not path.is_file():
        problems.add(where, "missing")
        return
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.MULTILINE | re.IGNORECASE)
    if len(stages) < 2:
        problems.add(where, "not a multi-stage build (a build stage and a runtime stage)")
        return
    build_image, runtime_image = stages[0][0], stages[-1][0]
    if not build_image.startswith("swift:"):
        problems.add(where, f"the build stage is {build_image}, not an official swift image")
    if "slim" not in runtime_image:
        problems.add(where, f"the runtime stage {runtime_image} is not a slim image")
    codename = re.search(r"-(bookworm|bullseye|trixie|jammy|noble)\b", build_image)
    if codename and codename.group(1) not in runtime_image:
        problems.add(where, f"build ({build_image}) and runtime ({runtime_image}) stages are not the same distribution")
    runtime = text[text.rfind("\nFROM ") :]
    users = re.findall(r"^USER\s+(\S+)", runtime, re.MULTILINE)
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.add(where, "the runtime stage does not switch to a non-root USER")
    for package in ("librdkafka1", "libsimdjson"):
        if package not in runtime:
            problems.add(where, f"the runtime stage does not install {package}")
    copied = re.search(r"for product in ([^;]+);", text)
    binaries = set(copied.group(1).split()) if copied else set()
    if binaries != code.products:
        problems.add(
            where,
            f"copies binaries {sorted(binaries)}, the executable products are {sorted(code.products)}",
        )
    for source in re.findall(r"^COPY\s+(?!--from)(\S+)\s", text, re.MULTILINE):
        if not (code.root / source).exists():
            problems.add(where, f"COPY {source}: no such file in the repository")


# ---------------------------------------------------------------------------------------------
# docker-compose.yml, Prometheus, Grafana


def compose_schema():
    resource = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    return json.loads(resource.read_text(encoding="utf-8"))


def schema_errors(schema, document):
    validator = jsonschema.validators.validator_for(schema)(schema)
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        path = "/".join(str(p) for p in error.absolute_path) or "(root)"
        yield f"{path}: {error.message}"


def host_port(mapping):
    text = str(mapping)
    parts = text.split("/")[0].split(":")
    return int(parts[-1]) if parts[-1].isdigit() else None


def check_compose(problems, deploy_root, code):
    where = "docker-compose.yml"
    compose = yaml.safe_load((deploy_root / where).read_text(encoding="utf-8"))
    for error in schema_errors(compose_schema(), compose):
        problems.add(where, f"Compose Specification: {error}")
    services = compose.get("services") or {}
    ports = {}  # compose service → HTTP port of a Tandem service
    seen = {}
    for name, service in services.items():
        if not isinstance(service, dict):
            continue
        at = f"{where}: services.{name}"
        image = str(service.get("image", ""))
        if not image.startswith("tandem:"):
            continue
        build = service.get("build")
        if build is not None:
            dockerfile = build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile"
            context = build.get("context", ".") if isinstance(build, dict) else build
            if not (deploy_root / context / dockerfile).is_file():
                problems.add(at, f"build.dockerfile {dockerfile} does not exist")
        command = service.get("command")
        command = command if isinstance(command, list) else str(command or "").split()
        binary = check_tandem_command(problems, at, [str(c) for c in command], code)
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
        for variable in environment:
            check_variable(problems, at, variable, code)
        for volume in service.get("volumes") or []:
            source = str(volume).split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith("./") and not (deploy_root / source).exists():
                problems.add(at, f"mounts {source}, which does not exist")
        if binary not in code.ports:
            continue
        seen[binary] = seen.get(binary, 0) + 1
        port = int(environment.get("TANDEM_HTTP_PORT", code.ports[binary]))
        if port != code.ports[binary]:
            problems.add(at, f"port {port} is not {binary}'s port {code.ports[binary]} (Services/*/Main)")
        ports[name] = port
        if port not in [host_port(p) for p in service.get("ports") or []]:
            problems.add(at, f"does not publish its HTTP port {port}")
        test = " ".join(str(part) for part in (service.get("healthcheck") or {}).get("test") or [])
        paths = set(re.findall(r"(/health/[a-z]+)", test))
        if "/health/ready" not in paths:
            problems.add(at, "its healthcheck does not ask /health/ready")
        for path in paths - code.routes:
            problems.add(at, f"its healthcheck asks {path}, which the service does not serve")
        if not re.search(rf"\b{port}\b", test):
            problems.add(at, f"its healthcheck does not reach port {port}")
        if service.get("restart") in (None, "no"):
            problems.add(at, "has no restart policy")
        depends = service.get("depends_on") or {}
        if not isinstance(depends, dict) or not any(
            isinstance(d, dict) and d.get("condition") == "service_completed_successfully" for d in depends.values()
        ):
            problems.add(at, "does not wait for the topics job (depends_on … service_completed_successfully)")
    for binary in SERVICE_BINARIES:
        if seen.get(binary, 0) != 1:
            problems.add(where, f"{binary} runs {seen.get(binary, 0)} times (expected once)")
    check_compose_kafka(problems, where, services)
    check_prometheus(problems, deploy_root, code, ports)
    check_grafana(problems, deploy_root, code, compose)


def check_compose_kafka(problems, where, services):
    """Apache Kafka in KRaft mode, and every KAFKA_BROKERS a listener it advertises."""
    brokers = {
        name: service
        for name, service in services.items()
        if isinstance(service, dict) and str(service.get("image", "")).startswith("apache/kafka:")
    }
    if not brokers:
        problems.add(where, "no Apache Kafka service (image apache/kafka)")
    advertised = set()
    for name, service in brokers.items():
        environment = service.get("environment") or {}
        if "controller" not in str(environment.get("KAFKA_PROCESS_ROLES", "")):
            problems.add(where, f"services.{name}: not in KRaft mode (KAFKA_PROCESS_ROLES without controller)")
        for listener in str(environment.get("KAFKA_ADVERTISED_LISTENERS", "")).split(","):
            advertised.add(listener.split("://")[-1])
    for name, service in services.items():
        if not isinstance(service, dict) or not str(service.get("image", "")).startswith("tandem:"):
            continue
        environment = service.get("environment") or {}
        for server in str(environment.get("KAFKA_BROKERS", "")).split(","):
            if server and server not in advertised:
                problems.add(where, f"services.{name}: KAFKA_BROKERS {server} is no listener Kafka advertises")


def check_prometheus(problems, deploy_root, code, ports):
    where = "deploy/prometheus/prometheus.yml"
    config = yaml.safe_load((deploy_root / where).read_text(encoding="utf-8"))
    targets = set()
    for job in config.get("scrape_configs") or []:
        path = job.get("metrics_path", "/metrics")
        if path not in code.routes:
            problems.add(where, f"job {job.get('job_name')}: metrics_path {path} is not served by the services")
        for static in job.get("static_configs") or []:
            targets |= set(static.get("targets") or [])
    for name, port in ports.items():
        if f"{name}:{port}" not in targets:
            problems.add(where, f"does not scrape {name}:{port}")
    for target in targets:
        host, _, port = target.partition(":")
        if host in ports and int(port) != ports[host]:
            problems.add(where, f"scrapes {target}, but {host} serves on {ports[host]}")


def check_grafana(problems, deploy_root, code, compose):
    base = deploy_root / "deploy/grafana"
    sources = {}
    for path in sorted((base / "provisioning/datasources").glob("*.y*ml")):
        for source in yaml.safe_load(path.read_text(encoding="utf-8")).get("datasources") or []:
            sources[source.get("uid")] = source
            host = re.sub(r"^https?://", "", str(source.get("url", ""))).split(":")[0]
            if host not in (compose.get("services") or {}):
                problems.add(str(path.relative_to(deploy_root)), f"data source URL {source.get('url')} names no compose service")
    dashboards = sorted((base / "dashboards").glob("*.json"))
    if not dashboards:
        problems.add("deploy/grafana/dashboards", "no dashboard")
    for path in dashboards:
        where = str(path.relative_to(deploy_root))
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        expressions = []

        def walk(node):
            if isinstance(node, dict):
                uid = (node.get("datasource") or {}).get("uid") if isinstance(node.get("datasource"), dict) else None
                if uid is not None and uid not in sources:
                    problems.add(where, f"data source uid {uid} is not provisioned")
                if isinstance(node.get("expr"), str):
                    expressions.append(node["expr"])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(dashboard)
        if not expressions:
            problems.add(where, "no query")
        for expression in expressions:
            for metric in re.findall(r"\btandem_[a-z0-9_]+", expression):
                if metric not in code.metrics:
                    problems.add(where, f"metric {metric} is not created anywhere in the code")


# ---------------------------------------------------------------------------------------------
# Kubernetes


def k8s_documents(deploy_root):
    documents = []
    for path in sorted((deploy_root / "deploy/k8s").glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document is not None:
                documents.append((str(path.relative_to(deploy_root)), document))
    return documents


def check_kubernetes(problems, deploy_root, code):
    import kubernetes_validate  # noqa: PLC0415 (slow import, only here)

    documents = k8s_documents(deploy_root)
    for where, document in documents:
        name = f"{document.get('kind')}/{(document.get('metadata') or {}).get('name')}"
        key = json.dumps(document, sort_keys=True)
        if key not in KUBERNETES_VERDICTS:
            verdicts = []
            for version in KUBERNETES_VERSIONS:
                try:
                    kubernetes_validate.validate(document, version, strict=True)
                except kubernetes_validate.ValidationError as error:
                    path = "/".join(str(p) for p in error.path) or "(root)"
                    verdicts.append(f"Kubernetes {version} schema: {path}: {error.message}")
                except kubernetes_validate.InvalidSchemaError as error:
                    verdicts.append(f"Kubernetes {version}: {error}")
            KUBERNETES_VERDICTS[key] = verdicts
        for verdict in KUBERNETES_VERDICTS[key]:
            problems.add(where, f"{name}: {verdict}")
    by_kind = {}
    for where, document in documents:
        by_kind.setdefault(document.get("kind"), []).append((where, document))

    kustomization = yaml.safe_load((deploy_root / "deploy/k8s/kustomization.yaml").read_text(encoding="utf-8"))
    listed = set(kustomization.get("resources") or [])
    files = {p.name for p in (deploy_root / "deploy/k8s").glob("*.yaml")} - {"kustomization.yaml"}
    if listed != files:
        problems.add("deploy/k8s/kustomization.yaml", f"resources {sorted(listed)} differ from the files {sorted(files)}")

    configmaps = {d["metadata"]["name"]: d.get("data") or {} for _, d in by_kind.get("ConfigMap", [])}
    secrets = {
        d["metadata"]["name"]: {**(d.get("data") or {}), **(d.get("stringData") or {})} for _, d in by_kind.get("Secret", [])
    }
    for where, configmap in by_kind.get("ConfigMap", []):
        for key, value in (configmap.get("data") or {}).items():
            if key == "tandem-rules.yaml" and value != code.rules:
                problems.add(
                    where,
                    "the rules ConfigMap differs from rules/tandem-rules.yaml "
                    "(regenerate: python3 scripts/check_deploy.py --code . --write-rules-configmap)",
                )
    if not any("tandem-rules.yaml" in data for data in configmaps.values()):
        problems.add("deploy/k8s", "no ConfigMap holds tandem-rules.yaml")

    deployments = {}
    for where, deployment in by_kind.get("Deployment", []):
        name = deployment["metadata"]["name"]
        at = f"{where}: Deployment/{name}"
        pod = deployment["spec"]["template"]
        spec = pod["spec"]
        grace = spec.get("terminationGracePeriodSeconds", 30)
        if grace < 15:
            problems.add(at, f"terminationGracePeriodSeconds {grace} < 15 (a service needs up to 10 s to stop)")
        if not (spec.get("securityContext") or {}).get("runAsNonRoot"):
            problems.add(at, "the pod does not set runAsNonRoot")
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        for container in spec["containers"]:
            cat = f"{at} container {container['name']}"
            binary = check_pod_container(problems, cat, container, spec, configmaps, secrets, volumes, code)
            if binary not in code.ports:
                continue
            deployments[name] = (where, deployment, binary)
            env = container_environment(container, configmaps, secrets)
            port = int(env.get("TANDEM_HTTP_PORT", code.ports[binary]))
            if port != code.ports[binary]:
                problems.add(cat, f"port {port} is not {binary}'s port {code.ports[binary]} (Services/*/Main)")
            named = {p.get("name"): p["containerPort"] for p in container.get("ports") or []}
            if port not in named.values():
                problems.add(cat, f"does not declare containerPort {port}")
            for probe, path in (("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready")):
                get = (container.get(probe) or {}).get("httpGet")
                if not get:
                    problems.add(cat, f"has no {probe} (httpGet {path})")
                    continue
                if get.get("path") != path:
                    problems.add(cat, f"{probe} asks {get.get('path')}, expected {path}")
                if get.get("path") not in code.routes:
                    problems.add(cat, f"{probe} asks {get.get('path')}, which the service does not serve")
                probe_port = named.get(get.get("port"), get.get("port"))
                if probe_port != port:
                    problems.add(cat, f"{probe} reaches port {get.get('port')}, the service listens on {port}")
            annotation = (pod.get("metadata", {}).get("annotations") or {}).get("prometheus.io/port")
            if annotation is not None and int(annotation) != port:
                problems.add(cat, f"prometheus.io/port {annotation} is not the service's port {port}")
    for binary in SERVICE_BINARIES:
        count = sum(1 for _, _, b in deployments.values() if b == binary)
        if count != 1:
            problems.add("deploy/k8s", f"{binary} runs in {count} Deployments (expected one)")

    for where, job in by_kind.get("Job", []):
        spec = job["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        for container in spec["containers"]:
            at = f"{where}: Job/{job['metadata']['name']} container {container['name']}"
            check_pod_container(problems, at, container, spec, configmaps, secrets, volumes, code)

    for name, (where, deployment, binary) in deployments.items():
        labels = deployment["spec"]["template"]["metadata"].get("labels") or {}
        port = code.ports[binary]
        budgets = [
            d
            for _, d in by_kind.get("PodDisruptionBudget", [])
            if selects(d["spec"].get("selector", {}).get("matchLabels"), labels)
        ]
        if not budgets:
            problems.add(where, f"Deployment/{name} has no PodDisruptionBudget")
        services = [d for _, d in by_kind.get("Service", []) if selects(d["spec"].get("selector"), labels)]
        if not services:
            problems.add(where, f"Deployment/{name} has no Service")
        for service in services:
            container = deployment["spec"]["template"]["spec"]["containers"][0]
            named = {p.get("name"): p["containerPort"] for p in container.get("ports") or []}
            for service_port in service["spec"].get("ports") or []:
                target = service_port.get("targetPort", service_port.get("port"))
                if named.get(target, target) != port:
                    problems.add(where, f"Service/{service['metadata']['name']} targets {target}, not port {port}")
    return len(documents)


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def container_environment(container, configmaps, secrets):
    env = {}
    for source in container.get("envFrom") or []:
        if "configMapRef" in source:
            env.update(configmaps.get(source["configMapRef"]["name"], {}))
        if "secretRef" in source:
            env.update(secrets.get(source["secretRef"]["name"], {}))
    for variable in container.get("env") or []:
        env[variable["name"]] = variable.get("value", "")
    return env


def check_pod_container(problems, at, container, spec, configmaps, secrets, volumes, code):
    image = str(container.get("image", ""))
    if image.split(":")[0] != "tandem":
        problems.add(at, f"image {image} is not the tandem image built by deploy/Dockerfile")
    command = [str(c) for c in (container.get("command") or []) + (container.get("args") or [])]
    binary = check_tandem_command(problems, at, command, code)
    context = container.get("securityContext") or {}
    if not context.get("readOnlyRootFilesystem"):
        problems.add(at, "the root filesystem is not read-only")
    if context.get("allowPrivilegeEscalation") is not False:
        problems.add(at, "allowPrivilegeEscalation is not false")
    resources = container.get("resources") or {}
    for part in ("requests", "limits"):
        if not (resources.get(part) or {}).get("memory"):
            problems.add(at, f"no memory {part}")
    for source in container.get("envFrom") or []:
        for kind, table in (("configMapRef", configmaps), ("secretRef", secrets)):
            if kind in source and source[kind]["name"] not in table and not source[kind].get("optional"):
                problems.add(at, f"envFrom {kind} {source[kind]['name']} is not defined in deploy/k8s")
    for variable in container.get("env") or []:
        ref = (variable.get("valueFrom") or {}).get("secretKeyRef") or (variable.get("valueFrom") or {}).get(
            "configMapKeyRef"
        )
        if ref and not ref.get("optional"):
            table = secrets if "secretKeyRef" in variable["valueFrom"] else configmaps
            if ref["key"] not in table.get(ref["name"], {}):
                problems.add(at, f"{variable['name']} refers to {ref['name']}/{ref['key']}, which is not defined")
    env = container_environment(container, configmaps, secrets)
    for variable in env:
        check_variable(problems, at, variable, code)
    for reference in re.findall(r"\$\((\w+)\)", " ".join(command)):
        if reference not in env:
            problems.add(at, f"$({reference}) in the command is not an environment variable of the container")
    rules = env.get("TANDEM_RULES")
    if rules and binary in code.ports:  # the services read the rules; `tandem topics create` does not
        mounted = False
        for mount in container.get("volumeMounts") or []:
            volume = volumes.get(mount["name"], {})
            configmap = (volume.get("configMap") or {}).get("name")
            prefix = mount["mountPath"].rstrip("/") + "/"
            if configmap and rules.startswith(prefix) and rules[len(prefix) :] in configmaps.get(configmap, {}):
                mounted = True
        if not mounted:
            problems.add(at, f"TANDEM_RULES={rules} is not a file of a mounted ConfigMap")
    return binary


# ---------------------------------------------------------------------------------------------


def write_rules_configmap(code_root):
    rules = (code_root / "rules/tandem-rules.yaml").read_text(encoding="utf-8")
    indented = "".join(("    " + line if line.strip() else line) for line in rules.splitlines(keepends=True))
    text = (
        "# The rules file (rules/tandem-rules.yaml, documented in rules/README.md), mounted by every service\n"
        "# at /etc/tandem/rules and named by TANDEM_RULES. A change is a rolling restart of the services that\n"
        "# read the changed section (deploy/OPERATIONS.md, \"Upgrades\"). A file may also keep only the keys it\n"
        "# changes. Generated from rules/tandem-rules.yaml; the tests check that the two are equal:\n"
        "#   python3 scripts/check_deploy.py --code . --write-rules-configmap\n"
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: tandem-rules\n"
        "  namespace: tandem\n"
        "  labels:\n"
        "    app.kubernetes.io/part-of: tandem\n"
        "data:\n"
        "  tandem-rules.yaml: |\n" + indented
    )
    (code_root / RULES_CONFIGMAP).write_text(text, encoding="utf-8")
    loaded = yaml.safe_load(text)["data"]["tandem-rules.yaml"]
    assert loaded == rules, "the rules file does not survive a YAML block scalar"


def check(root, code):
    """Every check of one deployment folder; returns the problems and the number of Kubernetes objects."""
    problems = Problems()
    if code.topics_flags is None:
        problems.add("--tandem", "no tandem binary given: cannot check the flags of `tandem topics create`")
    if set(code.ports) != set(SERVICE_BINARIES):
        problems.add("Services/*/Main", f"found service ports {code.ports}, expected the four services")
    check_dockerfile(problems, root, code)
    check_compose(problems, root, code)
    objects = check_kubernetes(problems, root, code)
    return problems, objects


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--code", type=pathlib.Path, required=True)
    parser.add_argument(
        "--deploy",
        type=pathlib.Path,
        action="append",
        help="a folder with docker-compose.yml and deploy/; repeatable (then each line starts with [folder name])",
    )
    parser.add_argument("--tandem")
    parser.add_argument("--write-rules-configmap", action="store_true")
    arguments = parser.parse_args()
    if arguments.write_rules_configmap:
        write_rules_configmap(arguments.code)
        print(f"wrote {RULES_CONFIGMAP}")
        return 0
    if not arguments.deploy:
        parser.error("--deploy is required")
    code = Code(arguments.code, arguments.tandem)
    failed = False
    for root in arguments.deploy:
        prefix = f"[{root.name}] " if len(arguments.deploy) > 1 else ""
        problems, objects = check(root, code)
        for problem in problems:
            print(prefix + problem)
        failed = failed or bool(problems)
        if not problems:
            print(
                f"{prefix}deploy: docker-compose.yml valid (Compose Specification), {objects} Kubernetes objects "
                f"valid (strict, Kubernetes {' and '.join(KUBERNETES_VERSIONS)}); Dockerfile, compose, Prometheus, "
                f"Grafana and manifests match the code ({len(code.products)} binaries, ports "
                f"{sorted(code.ports.values())}, {len(code.metrics)} metric series names)"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
