"""Nothing a domain defines can be left out of its declaration.

Every job, controller, table and encrypted table found anywhere under `selflink_api` must be
reachable from `selflink_api.domains.DOMAINS`, so a forgotten entry fails here instead of on
a Redis worker or in a key rotation.
"""

import importlib
import pkgutil
from types import ModuleType

import pytest
from advanced_alchemy.base import orm_registry
from litestar import Controller

import selflink_api
from selflink_api.domains import DOMAIN_PACKAGES, DOMAINS
from selflink_api.platform.crypto import EncryptedStore
from selflink_api.platform.database import PLATFORM_MODEL_MODULES, load_models
from selflink_api.platform.domains import (
    Domain,
    all_encrypted_stores,
    all_jobs,
    all_subscriptions,
    api_controllers,
    root_controllers,
)
from selflink_api.platform.jobs import CronSchedule, JobDefinition, background_job


def every_module() -> list[ModuleType]:
    names = [
        info.name
        for info in pkgutil.walk_packages(selflink_api.__path__, prefix="selflink_api.")
        if not info.ispkg
    ]
    return [importlib.import_module(name) for name in sorted(names)]


def defined_here(module: ModuleType) -> list[object]:
    """The module's own top-level objects, not those it imported."""
    return [
        value
        for value in vars(module).values()
        if getattr(value, "__module__", module.__name__) == module.__name__
    ]


def test_every_job_is_declared_by_a_domain() -> None:
    declared = {job.name: job for job in all_jobs(DOMAINS)}
    found = [
        (module.__name__, value)
        for module in every_module()
        for value in vars(module).values()
        if isinstance(value, JobDefinition) and module.__name__.endswith(".jobs")
    ]
    assert found, "no jobs found: the walk is broken"
    missing = sorted(
        f"{module}:{job.name}" for module, job in found if declared.get(job.name) is not job
    )
    assert not missing, f"jobs no domain declares (add them to Domain.jobs): {missing}"


def test_every_controller_is_declared_by_a_domain() -> None:
    declared = set(api_controllers(DOMAINS)) | set(root_controllers(DOMAINS))
    found = {
        value
        for module in every_module()
        for value in defined_here(module)
        if isinstance(value, type) and issubclass(value, Controller) and value is not Controller
    }
    assert found
    missing = sorted(c.__qualname__ for c in found - declared)
    assert not missing, f"controllers no domain declares: {missing}"


def test_every_table_belongs_to_a_declared_model_module() -> None:
    metadata = load_models(DOMAINS)
    declared = set(PLATFORM_MODEL_MODULES) | {m.__name__ for d in DOMAINS for m in d.models}
    owners = {mapper.local_table.name: mapper.class_.__module__ for mapper in orm_registry.mappers}
    undeclared = sorted(
        f"{table} ({owners.get(table, '?')})"
        for table in metadata.tables
        if owners.get(table) not in declared
    )
    assert not undeclared, f"tables whose module no domain declares in models: {undeclared}"


def test_every_encrypted_table_is_rotated_by_pii_rotate_key() -> None:
    metadata = load_models(DOMAINS)
    sealed = {
        name
        for name, table in metadata.tables.items()
        if {"key_id", "ciphertext"} <= set(table.columns.keys())
    }
    rotated = {store.model.__table__.name for store in all_encrypted_stores(DOMAINS)}
    assert "user_pii" in sealed
    assert sealed - rotated == set(), "encrypted tables missing from Domain.encrypted_stores"
    assert all(isinstance(s, EncryptedStore) for s in all_encrypted_stores(DOMAINS))


def test_domains_are_listed_once_under_their_package_names() -> None:
    assert [d.name for d in DOMAINS] == list(DOMAIN_PACKAGES)
    assert len(set(DOMAIN_PACKAGES)) == len(DOMAIN_PACKAGES)


def test_scheduled_and_subscribed_jobs_are_registered_even_when_not_listed() -> None:
    @background_job("test.only_scheduled")
    async def only_scheduled(_context: object) -> None: ...

    @background_job("test.only_subscribed")
    async def only_subscribed(_context: object, user_id: str) -> None: ...

    domain = Domain(
        name="test",
        schedules=(CronSchedule(only_scheduled, "* * * * *"),),
        subscriptions={"account.deleted": (only_subscribed,)},
    )
    names = {job.name for job in all_jobs((*DOMAINS, domain))}
    assert {"test.only_scheduled", "test.only_subscribed"} <= names
    assert all_subscriptions((*DOMAINS, domain))["account.deleted"][-1] is only_subscribed


def test_two_jobs_with_one_name_are_refused() -> None:
    @background_job("system.heartbeat")
    async def impostor(_context: object) -> None: ...

    with pytest.raises(ValueError, match=r"two jobs are named 'system\.heartbeat'"):
        all_jobs((*DOMAINS, Domain(name="test", jobs=(impostor,))))
