#!/usr/bin/env python3
"""Writes ops/grafana-hearth.json, the Grafana dashboard over hearthd's /metrics.

The panels are listed here once, as (title, unit, [(PromQL, legend)]); run this after changing
them (tests/integration/test_ops.py checks that the JSON is what this writes, that every query
runs in a real Prometheus scraping a real hearthd, and that every series they name exists).
"""
import json
import os

I = '{instance=~"$instance"}'
ROWS = [
    ('Load', [
        ('Rooms and participants', 'short', [
            (f'sum(hearth_rooms{I})', 'rooms'),
            (f'sum(hearth_participants{I})', 'participants'),
            (f'sum(hearth_signal_sessions{I})', 'signaling sessions')]),
        ('Joins per second', 'reqps', [
            (f'sum(rate(hearth_joins_total{I}[$__rate_interval]))', 'joined'),
            (f'sum by (code) (rate(hearth_join_failures_total{I}[$__rate_interval]))', 'refused: {{code}}')]),
        ('Media packets per second', 'pps', [
            (f'sum(rate(hearth_media_packets_received_total{I}[$__rate_interval]))', 'in (publishers)'),
            (f'sum(rate(hearth_media_packets_sent_total{I}[$__rate_interval]))', 'out (subscribers)')]),
        ('Media bandwidth', 'bps', [
            (f'8 * sum(rate(hearth_media_bytes_received_total{I}[$__rate_interval]))', 'in'),
            (f'8 * sum(rate(hearth_media_bytes_sent_total{I}[$__rate_interval]))', 'out')]),
    ]),
    ('Service levels (docs/slo.md)', [
        ('Joins with media within 5 s (target 99.9 %)', 'percentunit', [
            (f'sum(increase(hearth_join_media_within_target_total{I}[1h])) / sum(increase(hearth_join_media_attempts_total{I}[1h]))', 'last hour')]),
        ('Join to media connected', 's', [
            (f'histogram_quantile(0.5, sum by (le) (rate(hearth_join_media_seconds_bucket{I}[$__rate_interval])))', 'p50'),
            (f'histogram_quantile(0.99, sum by (le) (rate(hearth_join_media_seconds_bucket{I}[$__rate_interval])))', 'p99')]),
        ('Resumes', 'short', [
            (f'sum by (outcome) (increase(hearth_reconnects_total{I}[$__rate_interval]))', '{{outcome}}')]),
        ('Moderation: action to media stopped (p99, target 0.1 s)', 's', [
            (f'histogram_quantile(0.99, sum by (le) (rate(hearth_moderation_media_stop_seconds_bucket{I}[$__rate_interval])))', 'mute, timeout'),
            (f'histogram_quantile(0.99, sum by (le) (rate(hearth_forced_disconnect_media_seconds_bucket{I}[$__rate_interval])))', 'kick, ban, revoke')]),
    ]),
    ('Media quality', [
        ('Publisher packet loss', 'percentunit', [
            (f'sum(rate(hearth_media_packets_lost_total{I}[$__rate_interval])) / sum(rate(hearth_media_packets_received_total{I}[$__rate_interval]))', 'lost / received')]),
        ('NACKs and keyframe requests', 'short', [
            (f'sum(rate(hearth_media_nacks_total{I}[$__rate_interval]))', 'NACKed packets/s'),
            (f'sum(rate(hearth_media_keyframe_requests_total{I}[$__rate_interval]))', 'keyframe requests/s')]),
        ('Round trip to subscribers', 's', [
            (f'histogram_quantile(0.5, sum by (le) (rate(hearth_media_rtt_seconds_bucket{I}[$__rate_interval])))', 'p50'),
            (f'histogram_quantile(0.9, sum by (le) (rate(hearth_media_rtt_seconds_bucket{I}[$__rate_interval])))', 'p90')]),
        ('Jitter (p90)', 's', [
            (f'histogram_quantile(0.9, sum by (le) (rate(hearth_media_jitter_seconds_bucket{I}[$__rate_interval])))', 'from publishers'),
            (f'histogram_quantile(0.9, sum by (le) (rate(hearth_media_subscriber_jitter_seconds_bucket{I}[$__rate_interval])))', 'at subscribers')]),
        ('Packets dropped', 'pps', [
            (f'sum by (reason) (rate(hearth_media_packets_dropped_total{I}[$__rate_interval]))', '{{reason}}')]),
        ('Transport failures', 'short', [
            (f'sum by (state) (increase(hearth_transport_states_total{{instance=~"$instance",state=~"failed|disconnected"}}[$__rate_interval]))', '{{state}}')]),
    ]),
    ('Processes', [
        ('CPU (cores)', 'short', [
            (f'rate(process_cpu_seconds_total{I}[$__rate_interval])', 'hearthd {{instance}}'),
            (f'rate(hearth_worker_cpu_seconds_total{I}[$__rate_interval])', 'worker {{worker}} {{instance}}')]),
        ('Resident memory', 'bytes', [
            (f'process_resident_memory_bytes{I}', 'hearthd {{instance}}'),
            (f'hearth_worker_resident_memory_bytes{I}', 'worker {{worker}} {{instance}}')]),
        ('Open descriptors', 'short', [
            (f'process_open_fds{I}', 'hearthd {{instance}}'),
            (f'process_max_fds{I}', 'limit {{instance}}'),
            (f'hearth_worker_open_fds{I}', 'worker {{worker}} {{instance}}')]),
        ('HTTP', 'reqps', [
            (f'sum by (status) (rate(hearth_http_requests_total{I}[$__rate_interval]))', '{{status}}'),
            (f'sum(rate(hearth_http_rate_limited_total{I}[$__rate_interval]))', 'rate limited')]),
    ]),
]


def dashboard():
    panels, pid, y = [], 1, 0
    for row, items in ROWS:
        panels.append({'type': 'row', 'title': row, 'id': pid, 'collapsed': False,
                       'gridPos': {'h': 1, 'w': 24, 'x': 0, 'y': y}, 'panels': []})
        pid, y = pid + 1, y + 1
        for i, (title, unit, queries) in enumerate(items):
            panels.append({
                'type': 'timeseries', 'title': title, 'id': pid,
                'datasource': {'type': 'prometheus', 'uid': '${datasource}'},
                'gridPos': {'h': 8, 'w': 12, 'x': 12 * (i % 2), 'y': y + 8 * (i // 2)},
                'fieldConfig': {'defaults': {'unit': unit}, 'overrides': []},
                'options': {'legend': {'displayMode': 'list', 'placement': 'bottom'},
                            'tooltip': {'mode': 'multi'}},
                'targets': [{'refId': chr(65 + k), 'expr': q, 'legendFormat': legend,
                             'datasource': {'type': 'prometheus', 'uid': '${datasource}'}}
                            for k, (q, legend) in enumerate(queries)]})
            pid += 1
        y += 8 * ((len(items) + 1) // 2)
    return {
        'title': 'hearth', 'uid': 'hearth-overview', 'editable': True, 'schemaVersion': 38,
        'tags': ['hearth', 'webrtc'], 'time': {'from': 'now-6h', 'to': 'now'},
        'refresh': '30s', 'timezone': '', 'version': 1, 'panels': panels,
        'annotations': {'list': []},
        'templating': {'list': [
            {'name': 'datasource', 'type': 'datasource', 'query': 'prometheus',
             'label': 'Prometheus', 'current': {}, 'hide': 0},
            {'name': 'instance', 'type': 'query', 'label': 'Node',
             'datasource': {'type': 'prometheus', 'uid': '${datasource}'},
             'query': {'query': 'label_values(hearth_build_info, instance)', 'refId': 'A'},
             'definition': 'label_values(hearth_build_info, instance)',
             'includeAll': True, 'multi': True, 'allValue': '.*', 'refresh': 2,
             'current': {}, 'hide': 0}]},
    }


def render():
    return json.dumps(dashboard(), indent=2) + '\n'


def queries():
    """Every panel's PromQL, for the test."""
    return [q for _, items in ROWS for _, _, qs in items for q, _ in qs]


if __name__ == '__main__':
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'grafana-hearth.json')
    with open(out, 'w') as f:
        f.write(render())
    print(out)
