"""The Celery configuration the workers run with: durable, bounded, JSON, routed by name."""

from config.celery import app


def test_durable_and_bounded():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert conf.accept_content == ["json"] and conf.task_serializer == "json"


def test_tasks_are_routed_by_the_prefix_of_their_name():
    route = app.amqp.router.route
    assert route({}, "accounts.clear_expired_sessions")["queue"].name == "default"
    assert route({}, "matching.match_task")["queue"].name == "matching"
    assert route({}, "notifications.relay_outbox")["queue"].name == "notifications"
    assert route({}, "insights.refresh_counts")["queue"].name == "stats"


def test_one_beat_schedule_of_registered_tasks():
    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule
    assert schedule
    for entry in schedule.values():
        assert entry["task"] in app.tasks
