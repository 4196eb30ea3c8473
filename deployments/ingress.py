"""The Serve ingress deployment: a thin shell that builds ``Services`` and the FastAPI app."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from actors.catalog import catalog_actor
from actors.observer import observer_actor
from actors.pathway import pathway_actor
from actors.remote.corpus_router import CorpusRouter
from actors.remote.facade import Facade
from actors.services import Services
from actors.vectors import registry_actor, shard_actor
from deployments.api import create_api
from lakehouse.embed import EmbedConfig
from lakehouse.embed.lazy import LazyEmbedder
from lakehouse.matrix import MatrixConfig, MatrixSearch
from lakehouse.settings import Settings


class LakehouseIngress:
    """One replica: connects to the catalog actor and serves the API (no state of its own)."""

    def __init__(self, settings: Settings) -> None:
        logging.basicConfig(level=logging.INFO)
        self.services = Services.build(settings, Facade(catalog_actor(settings)))
        self.services.pathway = Facade(pathway_actor(settings))
        self.services.observer = Facade(observer_actor(settings))
        models = settings.data_dir.resolve() / "models"
        self.services.embedder = LazyEmbedder(EmbedConfig.from_env(cache_dir=models))
        self.services.vectors = CorpusRouter(
            Facade(registry_actor(settings)),
            lambda corpus, index: Facade(shard_actor(settings, corpus, index)),
        )
        self.services.matrix = MatrixSearch(
            self.services.vectors,
            self.services.embed_queries,
            self.services.store,
            MatrixConfig.from_settings(settings),
        )

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_api(self.services)
