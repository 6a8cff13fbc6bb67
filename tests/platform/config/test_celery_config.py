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


def test_every_task_ends_before_the_broker_hands_it_to_a_second_worker():
    """Redis redelivers a task not acknowledged within the visibility timeout: a task still
    running then (acks_late) would run twice at once. Every registered task's hard limit, its
    own or the default, stays below it; our tasks are all there (the built-in celery.* ones
    run with the default)."""
    app.loader.import_default_modules()
    timeout = app.conf.broker_transport_options["visibility_timeout"]
    ours = {name for name in app.tasks if not name.startswith("celery.")}
    assert "insights.counts_rebuild" in ours and "notifications.relay" in ours
    for name, task in app.tasks.items():
        limit = task.time_limit if task.time_limit is not None else app.conf.task_time_limit
        assert limit is not None, f"{name} has no hard time limit"
        assert limit < timeout, f"{name}: time limit {limit} s, visibility timeout {timeout} s"
        soft = task.soft_time_limit or app.conf.task_soft_time_limit
        assert soft < limit, name
    assert app.tasks["insights.counts_rebuild"].time_limit > 3600  # the case that was wrong
