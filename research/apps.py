from django.apps import AppConfig


def _warm_worker(**signal_kwargs):
    from .tasks import warm_worker

    warm_worker()


class ResearchConfig(AppConfig):
    name = "research"
    verbose_name = "Deep research"

    def ready(self):
        # A django-q2 worker loads the wallet and pympp (web3, about a second) as it spawns, so its
        # first paid call costs what later ones do. Only qcluster's workers send post_spawn: pages
        # and manage.py connect the receiver but never run it, and stay free of web3.
        from django_q.signals import post_spawn

        post_spawn.connect(_warm_worker, dispatch_uid="research.warm_worker")
