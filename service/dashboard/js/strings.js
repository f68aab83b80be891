// Every piece of UI text, in one table per language (en, ja). To add a string, add its key to
// every table (tests/test_dashboard_browser.py fails when `ja` lacks a key of `en`); to add a
// language, add a table with the same keys and an <option> in index.html's language switch.
// Missing keys fall back to English. `{name}` marks a value filled in at run time. Optional
// `defect.<type>` keys name defect types (the type itself is shown when there is none).

export const STRINGS = {
  en: {
    'app.title': 'Gaikan line',
    'app.skip': 'Skip to content',
    'tab.line': 'Line',
    'tab.engineer': 'Engineer',
    'tab.recheck': 'Re-check',
    'tabs.label': 'Views',
    'lang.label': 'Language',

    'header.model': 'Model',
    'header.camera': 'Camera',
    'header.connection': 'Link',
    'header.none': 'none',
    'header.uncalibrated': 'UNCALIBRATED',
    'header.uncalibratedHint': 'The thresholds come from good parts only (safe defaults: unusual parts go to review). Calibrate the model with defective parts (gaikan calibrate) and activate the new version.',
    'connection.live': 'live',
    'connection.connecting': 'connecting…',
    'connection.lost': 'lost',

    'who.local': 'Local engineer (no keys)',
    'who.as': '{role}: {name}',
    'who.signedOut': 'No key',
    'key.button': 'Key…',
    'key.title': 'API key',
    'key.help': 'Enter the API key you were given. It is kept in this browser until you forget it.',
    'key.label': 'API key',
    'key.use': 'Use key',
    'key.forget': 'Forget key',
    'key.cancel': 'Cancel',
    'key.unknown': 'This key is not recognised.',
    'key.required': 'This service needs an API key.',

    'role.operator': 'Operator',
    'role.plc': 'PLC',
    'role.engineer': 'Engineer',

    'outcome.pass': 'PASS',
    'outcome.reject': 'REJECT',
    'outcome.review': 'REVIEW',
    'outcome.none': 'WAITING',
    'outcome.word.pass': 'Pass',
    'outcome.word.reject': 'Reject',
    'outcome.word.review': 'Review',

    'reason.score': 'Score',
    'reason.timeout': 'Deadline missed',
    'reason.no_model': 'No active model',
    'reason.camera_fault': 'Camera fault',
    'reason.error': 'Inspection error',
    'reason.storage': 'Not stored in time',
    'reason.view_missing': 'View missing',
    'cameras.title': 'Cameras',
    'cameras.view': '{station} · {view}',
    'cameras.own': 'own parts',
    'cameras.rate': '{fps} fps · {decided} decided/s',
    'cameras.p99': 'p99 {value} ms',
    'cameras.model': 'model {version}',
    'views.label': 'Views of this part',

    'verdict.label': 'Latest part',
    'verdict.part': 'Part #{seq}',
    'verdict.at': 'at {time}',
    'verdict.waiting': 'Waiting for the first part…',
    'verdict.idle': 'No part for {age}',
    'verdict.details': 'Details',

    'score.title': 'Score',
    'score.none': 'no score',
    'score.rejectAt': 'reject ≥ {value}',
    'score.reviewAt': 'review ≥ {value}',
    'score.gauge': 'Score {score} against reject threshold {reject}',

    'image.title': 'Latest image',
    'image.caption': 'Part #{seq} · {outcome} · {time}',
    'image.none': 'No part image kept yet',
    'image.alt': 'Part #{seq}',
    'image.heatmapAlt': 'Anomaly heatmap of part #{seq}',
    'image.viewAlt': 'Part #{seq}, view {view}',
    'image.viewHeatmapAlt': 'Anomaly heatmap of part #{seq}, view {view}',
    'image.heatmap': 'Heatmap',
    'image.heatmapHint': 'Show the anomaly heatmap (H)',
    'image.noHeatmap': 'no heatmap for this part',

    'counts.title': 'Counts',
    'counts.shift': 'Shift since {time}',
    'counts.hour': 'Last hour',
    'counts.inspected': 'Inspected',
    'counts.passed': 'Passed',
    'counts.review': 'Review',
    'counts.rejected': 'Rejected',
    'counts.yield': 'Yield',
    'counts.rejectRate': 'Reject rate',
    'counts.export': 'Shift results as CSV',

    'perf.title': 'Performance',
    'perf.throughput': 'Throughput',
    'perf.latency': 'Latency p50 / p99',
    'perf.fps': '{value} parts/s',
    'perf.ms': '{p50} / {p99} ms',

    'camera.title': 'Camera',
    'camera.state': 'State',
    'camera.fps': 'Frame rate',
    'camera.fpsValue': '{value} frames/s',
    'camera.frames': 'Frames',
    'camera.dropped': 'Dropped',
    'camera.timeouts': 'Timeouts',
    'camera.reconnects': 'Reconnects',
    'camera.error': 'Last error',
    'camera.state.none': 'no camera',
    'camera.state.stopped': 'stopped',
    'camera.state.connecting': 'connecting',
    'camera.state.running': 'connected',
    'camera.state.faulted': 'FAULT',
    'camera.state.ended': 'replay ended',

    'model.title': 'Models',
    'model.active': 'Active model',
    'model.shadow': 'Shadow model',

    'alarm.failSafe': 'FAIL-SAFE: every part is being rejected',
    'alarm.failSafe.no_model': 'no active model',
    'alarm.failSafe.no_camera': 'no camera configured',
    'alarm.failSafe.camera_fault': 'camera fault',
    'alarm.failSafe.pipeline_stopped': 'inspection stopped',
    'alarm.failSafe.plc_backlog': 'a PLC is too far behind',
    'alarm.plcSilent': 'PLC {client} SILENT for {seconds} s ({pending} result(s) waiting): rejects may not reach the gate',
    'alarm.plcBacklog': 'PLC {client} is {pending} results behind (over the buffer limit): its heartbeat says fail-safe',
    'alarm.failSafe.storage': 'decisions cannot be stored',
    'alarm.failSafe.timeouts': 'many parts miss their deadline',
    'alarm.failSafe.inference_stalled': 'the model has stopped answering',
    'alarm.failSafe.line_starting': 'inspection process starting',
    'alarm.failSafe.line_down': 'inspection process down (restarting)',
    'alarm.failSafe.line_unresponsive': 'inspection process not responding',
    'alarm.connection': 'NO CONNECTION to the inspection service: this screen is not up to date (last update {time})',
    'alarm.connectionNever': 'NO CONNECTION to the inspection service',
    'alarm.uninspected': '{count} part(s) rejected without inspection in the last minute: {reasons}',

    'rejects.title': 'Recent rejects',
    'rejects.none': 'No rejected parts',
    'rejects.item': 'Rejected part #{seq}, {reason}, {time}',
    'rejects.open': 'Show details',

    'detail.title': 'Part #{seq}',
    'detail.decision': 'Decision',
    'detail.reason': 'Reason',
    'detail.score': 'Score',
    'detail.thresholds': 'Thresholds',
    'detail.model': 'Model version',
    'detail.captured': 'Captured',
    'detail.latency': 'Latency',
    'detail.camera': 'Camera',
    'detail.source': 'Source',
    'detail.recheck': 'Re-check',
    'detail.image': 'Part image',
    'detail.heatmap': 'Heatmap',
    'detail.noImage': 'No image kept for this part',
    'detail.viewPictures': 'Pictures of each view',
    'detail.noViewImage': 'No image kept for this view',
    'detail.close': 'Close',
    'detail.previous': 'Older',
    'detail.next': 'Newer',
    'detail.escapeHint': 'A person later found this passed part defective?',
    'detail.reportEscape': 'Found defective (escape)',
    'detail.escapeTitle': 'Report part #{seq} as an escape?',
    'detail.escapeBody': 'The line passed this part; a person found it defective. It is recorded as a re-check (defective) and counted as an escape.',
    'detail.escapeRecorded': 'Part #{seq} recorded as defective: counted as an escape.',

    'eng.readOnly': 'Read only: changing thresholds or models needs an engineer key.',
    'eng.noModel': 'No active model: thresholds belong to a model version.',

    'thr.title': 'Thresholds',
    'thr.histogram': 'Scores of the last {count} parts of model {version}',
    'thr.histogramEmpty': 'No scored parts of the active model yet.',
    'thr.sample': 'Parts',
    'thr.reject': 'Reject at or above',
    'thr.review': 'Review at or above',
    'thr.reviewOn': 'Review band',
    'thr.source.manifest': 'from the model package',
    'thr.source.override': 'set by an engineer',
    'thr.inForce': 'In force: reject ≥ {reject}{review} ({source})',
    'thr.inForceReview': ', review ≥ {review}',
    'thr.preview': 'With these thresholds the last {count} parts would be: {pass} pass, {review} review, {reject} reject (in force: {nowPass} pass, {nowReview} review, {nowReject} reject).',
    'thr.apply': 'Apply…',
    'thr.revert': 'Revert',
    'thr.manifest': 'Model defaults',
    'thr.applied': 'Thresholds applied: reject ≥ {reject}{review}.',
    'thr.invalid': 'The review threshold must be below the reject threshold.',
    'thr.notNumber': 'Enter a number for the {what} threshold.',
    'thr.confirmTitle': 'Change thresholds?',
    'thr.confirmBody': 'Model {version}: reject {oldReject} → {newReject}; review {oldReview} → {newReview}. Effective from the next part, recorded in the audit trail.',
    'thr.handleReject': 'Reject threshold',
    'thr.handleReview': 'Review threshold',
    'thr.axis': 'score',
    'thr.none': 'off',

    'audit.title': 'Audit trail',
    'audit.at': 'Time',
    'audit.actor': 'Who',
    'audit.action': 'Action',
    'audit.target': 'Target',
    'audit.change': 'Change',
    'audit.empty': 'Nothing recorded yet.',
    'audit.action.thresholds.update': 'thresholds changed',
    'audit.action.model.upload': 'model uploaded',
    'audit.action.model.activate': 'model activated',
    'audit.action.model.rollback': 'model rolled back',
    'audit.action.model.shadow': 'shadow model set',
    'audit.action.recheck.set': 're-check recorded',

    'models.title': 'Model versions',
    'models.version': 'Version',
    'models.uploaded': 'Uploaded',
    'models.activated': 'Last activated',
    'models.state': 'State',
    'models.actions': 'Actions',
    'models.by': '{time} by {who}',
    'models.stateActive': 'active',
    'models.stateShadow': 'shadow',
    'models.activate': 'Activate…',
    'models.rollback': 'Roll back…',
    'models.upload': 'Upload package…',
    'models.uploading': 'Uploading {name}…',
    'models.uploaded.ok': 'Uploaded version {version}.',
    'models.activated.ok': 'Version {version} is active.',
    'models.rolledBack.ok': 'Rolled back to version {version}.',
    'models.shadowStart': 'Shadow',
    'models.shadowStop': 'Stop shadow',
    'models.agreement': 'Agreement',
    'models.shadowStarted': 'Version {version} scores the line in shadow.',
    'models.shadowStopped': 'Shadow mode stopped.',
    'models.agreementTitle': 'Shadow agreement: {version} beside the active model',
    'models.agreementNone': 'No agreement figures yet.',
    'agreement.version': 'Shadow version',
    'agreement.shadowing': 'Scoring now',
    'agreement.since': 'Since',
    'agreement.frames': 'Parts compared',
    'agreement.skipped': 'Parts skipped (shadow too slow)',
    'agreement.errors': 'Shadow errors',
    'agreement.agreement': 'Same decision',
    'agreement.score_correlation': 'Score correlation',
    'agreement.confusion': 'Decisions (rows: active model, columns: shadow)',
    'agreement.loaded': 'Loaded by the shadow process',
    'agreement.load_error': 'Could not load',
    'agreement.restarts': 'Shadow process restarts',
    'value.yes': 'yes',
    'value.no': 'no',
    'models.empty': 'No model versions uploaded.',
    'models.confirmActivate': 'Activate model {version}? The line switches between two parts; thresholds come from that version.',
    'models.confirmRollback': 'Roll back to the previously active model?',
    'models.confirmTitle': 'Change the active model?',

    'rc.title': 'Re-check queue',
    'rc.pending': '{count} waiting',
    'rc.period': 'Period',
    'rc.period.shift': 'This shift',
    'rc.period.day': 'Last 24 hours',
    'rc.period.week': 'Last 7 days',
    'rc.verdictLabel': 'What did you find on this part?',
    'rc.good': 'Good',
    'rc.defective': 'Defective',
    'rc.note': 'Note',
    'rc.skip': 'Skip',
    'rc.empty': 'No flagged part is waiting for a re-check.',
    'rc.recorded': 'Part #{seq}: {verdict} recorded.',

    'sum.title': 'What people found',
    'sum.csv': 'As CSV',
    'sum.period': 'Parts decided since {since}',
    'sum.inspected': 'Inspected',
    'sum.passed': 'Passed',
    'sum.flagged': 'Flagged (review or reject)',
    'sum.confirmed': 'Confirmed defective',
    'sum.overkill': 'Overkill (found good)',
    'sum.pending': 'Not re-checked yet',
    'sum.escapes': 'Escapes reported *',
    'sum.overkillShare': 'Overkill share (re-checked)',
    'sum.escapesNote': '* Escapes cannot be known from the line alone: only passed parts that someone later re-checks and finds defective are counted here, so the real number can be higher.',
    'sum.col.flagged': 'Flagged',
    'sum.col.confirmed_defective': 'Defective',
    'sum.col.overkill': 'Overkill',
    'sum.col.pending': 'Pending',
    'sum.col.escapes': 'Escapes *',
    'sum.byModel': 'By model version',
    'sum.byType': 'By defect type',
    'sum.defectType': 'Defect type',
    'sum.untyped': 'no type given',
    'sum.noDefects': 'No defects confirmed in this period.',

    'confirm.ok': 'Confirm',
    'confirm.cancel': 'Cancel',

    'unit.seconds': '{value} s',
    'unit.minutes': '{value} min',
    'unit.hours': '{value} h',
    'unit.percent': '{value} %',
    'unit.ms': '{value} ms',

    'error.http': 'The service refused: {detail} (HTTP {status})',
    'error.network': 'The service cannot be reached.',
  },
  // Japanese as used on a Japanese factory floor. Keep the keys in step with `en` (a test checks).
  ja: {
    'app.title': 'Gaikan 外観検査ライン',
    'app.skip': '本文へ移動',
    'tab.line': 'ライン',
    'tab.engineer': '技術者',
    'tab.recheck': '再検査',
    'tabs.label': '画面',
    'lang.label': '言語',

    'header.model': 'モデル',
    'header.uncalibrated': '未校正',
    'header.uncalibratedHint': 'しきい値は良品画像だけから決めた安全側の初期値です（いつもと違う製品は要確認に回ります）。不良品画像でモデルを校正（gaikan calibrate）し、新しいバージョンを有効にしてください。',
    'header.camera': 'カメラ',
    'header.connection': '接続',
    'header.none': 'なし',
    'connection.live': '接続中',
    'connection.connecting': '接続しています…',
    'connection.lost': '切断',

    'who.local': 'ローカル技術者（キーなし）',
    'who.as': '{role}：{name}',
    'who.signedOut': 'キーなし',
    'key.button': 'キー…',
    'key.title': 'API キー',
    'key.help': '配布された API キーを入力してください。削除するまでこのブラウザに保存されます。',
    'key.label': 'API キー',
    'key.use': 'このキーを使う',
    'key.forget': 'キーを削除',
    'key.cancel': 'キャンセル',
    'key.unknown': 'このキーは登録されていません。',
    'key.required': 'このサービスには API キーが必要です。',

    'role.operator': 'オペレーター',
    'role.plc': 'PLC',
    'role.engineer': '技術者',

    'outcome.pass': '合格',
    'outcome.reject': '不合格 NG',
    'outcome.review': '要確認',
    'outcome.none': '待機中',
    'outcome.word.pass': '合格',
    'outcome.word.reject': '不合格',
    'outcome.word.review': '要確認',

    'reason.score': 'スコア',
    'reason.timeout': '判定期限切れ',
    'reason.no_model': '有効なモデルなし',
    'reason.camera_fault': 'カメラ異常',
    'reason.error': '検査エラー',
    'reason.storage': '期限内に保存できず',
    'reason.view_missing': '視点欠落',
    'cameras.title': 'カメラ一覧',
    'cameras.view': '{station} · {view}',
    'cameras.own': '単独判定',
    'cameras.rate': '{fps} fps · 判定 {decided}/秒',
    'cameras.p99': 'p99 {value} ms',
    'cameras.model': 'モデル {version}',
    'views.label': 'この製品の各視点',

    'verdict.label': '最新の製品',
    'verdict.part': '製品 #{seq}',
    'verdict.at': '{time}',
    'verdict.waiting': '最初の製品を待っています…',
    'verdict.idle': '{age} 製品なし',
    'verdict.details': '詳細',

    'score.title': 'スコア',
    'score.none': 'スコアなし',
    'score.rejectAt': '不合格 ≥ {value}',
    'score.reviewAt': '要確認 ≥ {value}',
    'score.gauge': 'スコア {score}（不合格しきい値 {reject}）',

    'image.title': '最新画像',
    'image.caption': '製品 #{seq} · {outcome} · {time}',
    'image.none': '保存された画像はまだありません',
    'image.alt': '製品 #{seq}',
    'image.heatmapAlt': '製品 #{seq} の異常ヒートマップ',
    'image.viewAlt': '製品 #{seq}・視点 {view}',
    'image.viewHeatmapAlt': '製品 #{seq}・視点 {view} の異常ヒートマップ',
    'image.heatmap': 'ヒートマップ',
    'image.heatmapHint': '異常ヒートマップを表示（H）',
    'image.noHeatmap': 'この製品のヒートマップはありません',

    'counts.title': '検査数',
    'counts.shift': '今の直（{time}〜）',
    'counts.hour': '直近1時間',
    'counts.inspected': '検査数',
    'counts.passed': '合格',
    'counts.review': '要確認',
    'counts.rejected': '不合格',
    'counts.yield': '歩留まり',
    'counts.rejectRate': '不良率',
    'counts.export': 'この直の結果を CSV で',

    'perf.title': '処理性能',
    'perf.throughput': '処理速度',
    'perf.latency': '遅延 p50 / p99',
    'perf.fps': '{value} 個/秒',
    'perf.ms': '{p50} / {p99} ms',

    'camera.title': 'カメラ',
    'camera.state': '状態',
    'camera.fps': 'フレームレート',
    'camera.fpsValue': '{value} fps',
    'camera.frames': 'フレーム数',
    'camera.dropped': '欠落',
    'camera.timeouts': 'タイムアウト',
    'camera.reconnects': '再接続',
    'camera.error': '直近のエラー',
    'camera.state.none': 'カメラなし',
    'camera.state.stopped': '停止',
    'camera.state.connecting': '接続中',
    'camera.state.running': '接続済み',
    'camera.state.faulted': '異常',
    'camera.state.ended': '再生終了',

    'model.title': 'モデル',
    'model.active': '使用中のモデル',
    'model.shadow': 'シャドーモデル',

    'alarm.failSafe': 'フェイルセーフ：全製品を不合格にしています',
    'alarm.failSafe.no_model': '有効なモデルなし',
    'alarm.failSafe.no_camera': 'カメラ未設定',
    'alarm.failSafe.camera_fault': 'カメラ異常',
    'alarm.failSafe.pipeline_stopped': '検査停止',
    'alarm.failSafe.plc_backlog': 'PLC の確認応答が大幅に遅れています',
    'alarm.failSafe.storage': '判定結果を保存できません',
    'alarm.failSafe.timeouts': '判定期限切れが多発しています',
    'alarm.failSafe.inference_stalled': 'モデルが応答しません',
    'alarm.failSafe.line_starting': '検査プロセス起動中',
    'alarm.failSafe.line_down': '検査プロセス停止（再起動中）',
    'alarm.failSafe.line_unresponsive': '検査プロセスが応答しません',
    'alarm.plcSilent': 'PLC {client} が {seconds} 秒間応答なし（未確認 {pending} 件）：不合格信号がリジェクトゲートに届かない恐れがあります',
    'alarm.plcBacklog': 'PLC {client} の未確認が {pending} 件（バッファ上限超過）：ハートビートはフェイルセーフです',
    'alarm.connection': '検査サービスと通信できません：この画面は最新ではありません（最終更新 {time}）',
    'alarm.connectionNever': '検査サービスと通信できません',
    'alarm.uninspected': '直近1分間に {count} 個を検査せずに不合格にしました：{reasons}',

    'rejects.title': '最近の不合格品',
    'rejects.none': '不合格品はありません',
    'rejects.item': '不合格品 #{seq}、{reason}、{time}',
    'rejects.open': '詳細を表示',

    'detail.title': '製品 #{seq}',
    'detail.decision': '判定',
    'detail.reason': '理由',
    'detail.score': 'スコア',
    'detail.thresholds': 'しきい値',
    'detail.model': 'モデルバージョン',
    'detail.captured': '撮像時刻',
    'detail.latency': '遅延',
    'detail.camera': 'カメラ',
    'detail.source': '入力元',
    'detail.recheck': '再検査',
    'detail.image': '製品画像',
    'detail.heatmap': 'ヒートマップ',
    'detail.noImage': 'この製品の画像は保存されていません',
    'detail.viewPictures': '各視点の画像',
    'detail.noViewImage': 'この視点の画像は保存されていません',
    'detail.close': '閉じる',
    'detail.previous': '前へ',
    'detail.next': '次へ',
    'detail.escapeHint': '合格した製品に、後で不良が見つかりましたか？',
    'detail.reportEscape': '不良だった（見逃し）',
    'detail.escapeTitle': '製品 #{seq} を見逃しとして記録しますか？',
    'detail.escapeBody': 'ラインはこの製品を合格としましたが、人が不良を見つけました。再検査結果（不良）として記録し、見逃しに数えます。',
    'detail.escapeRecorded': '製品 #{seq} を不良として記録しました（見逃しに計上）。',

    'eng.readOnly': '閲覧のみ：しきい値やモデルの変更には技術者キーが必要です。',
    'eng.noModel': '有効なモデルがありません：しきい値はモデルバージョンごとに設定します。',

    'thr.title': 'しきい値',
    'thr.histogram': 'モデル {version} の直近 {count} 個のスコア',
    'thr.histogramEmpty': '使用中のモデルで採点された製品はまだありません。',
    'thr.sample': '個数',
    'thr.reject': '不合格（以上）',
    'thr.review': '要確認（以上）',
    'thr.reviewOn': '要確認帯',
    'thr.source.manifest': 'モデルパッケージの値',
    'thr.source.override': '技術者が設定',
    'thr.inForce': '適用中：不合格 ≥ {reject}{review}（{source}）',
    'thr.inForceReview': '、要確認 ≥ {review}',
    'thr.preview': 'このしきい値なら直近 {count} 個は 合格 {pass}・要確認 {review}・不合格 {reject}（現在：合格 {nowPass}・要確認 {nowReview}・不合格 {nowReject}）。',
    'thr.apply': '適用…',
    'thr.revert': '元に戻す',
    'thr.manifest': 'モデルの既定値',
    'thr.applied': 'しきい値を適用しました：不合格 ≥ {reject}{review}。',
    'thr.invalid': '要確認しきい値は不合格しきい値より小さくしてください。',
    'thr.notNumber': '{what}しきい値に数値を入力してください。',
    'thr.confirmTitle': 'しきい値を変更しますか？',
    'thr.confirmBody': 'モデル {version}：不合格 {oldReject} → {newReject}、要確認 {oldReview} → {newReview}。次の製品から適用され、変更履歴に記録されます。',
    'thr.handleReject': '不合格しきい値',
    'thr.handleReview': '要確認しきい値',
    'thr.axis': 'スコア',
    'thr.none': 'なし',

    'audit.title': '変更履歴',
    'audit.at': '日時',
    'audit.actor': '実施者',
    'audit.action': '操作',
    'audit.target': '対象',
    'audit.change': '変更内容',
    'audit.empty': '記録はまだありません。',
    'audit.action.thresholds.update': 'しきい値変更',
    'audit.action.model.upload': 'モデル登録',
    'audit.action.model.activate': 'モデル切替',
    'audit.action.model.rollback': 'モデルを戻す',
    'audit.action.model.shadow': 'シャドーモデル設定',
    'audit.action.recheck.set': '再検査結果の記録',

    'models.title': 'モデルバージョン',
    'models.version': 'バージョン',
    'models.uploaded': '登録',
    'models.activated': '最終切替',
    'models.state': '状態',
    'models.actions': '操作',
    'models.by': '{time}（{who}）',
    'models.stateActive': '使用中',
    'models.stateShadow': 'シャドー',
    'models.activate': '切り替える…',
    'models.rollback': '前のモデルに戻す…',
    'models.upload': 'パッケージを登録…',
    'models.uploading': '{name} を登録しています…',
    'models.uploaded.ok': 'バージョン {version} を登録しました。',
    'models.activated.ok': 'バージョン {version} を使用中にしました。',
    'models.rolledBack.ok': 'バージョン {version} に戻しました。',
    'models.shadowStart': 'シャドー',
    'models.shadowStop': 'シャドー停止',
    'models.agreement': '一致率',
    'models.shadowStarted': 'バージョン {version} をシャドーで採点しています。',
    'models.shadowStopped': 'シャドーを停止しました。',
    'models.agreementTitle': 'シャドー比較：{version} と使用中のモデル',
    'models.agreementNone': '比較データはまだありません。',
    'agreement.version': 'シャドーバージョン',
    'agreement.shadowing': '採点中',
    'agreement.since': '開始',
    'agreement.frames': '比較した製品数',
    'agreement.skipped': '飛ばした製品数（シャドーが追いつかない）',
    'agreement.errors': 'シャドーのエラー',
    'agreement.agreement': '判定一致率',
    'agreement.score_correlation': 'スコア相関',
    'agreement.confusion': '判定（行：使用中のモデル、列：シャドー）',
    'agreement.loaded': 'シャドープロセスに読み込み済み',
    'agreement.load_error': '読み込めなかった理由',
    'agreement.restarts': 'シャドープロセスの再起動回数',
    'value.yes': 'はい',
    'value.no': 'いいえ',
    'models.empty': '登録されたモデルはありません。',
    'models.confirmActivate': 'モデル {version} に切り替えますか？製品と製品の間で切り替わり、しきい値はそのバージョンのものになります。',
    'models.confirmRollback': '前に使っていたモデルに戻しますか？',
    'models.confirmTitle': '使用するモデルを変更しますか？',

    'rc.title': '再検査待ち',
    'rc.pending': '{count} 個待ち',
    'rc.period': '期間',
    'rc.period.shift': '今の直',
    'rc.period.day': '直近24時間',
    'rc.period.week': '直近7日間',
    'rc.verdictLabel': 'この製品の再検査結果は？',
    'rc.good': '良品',
    'rc.defective': '不良',
    'rc.note': 'メモ',
    'rc.skip': '後で',
    'rc.empty': '再検査待ちの製品はありません。',
    'rc.recorded': '製品 #{seq}：{verdict} を記録しました。',

    'sum.title': '再検査の結果',
    'sum.csv': 'CSV で出力',
    'sum.period': '{since} 以降に判定した製品',
    'sum.inspected': '検査数',
    'sum.passed': '合格',
    'sum.flagged': '要確認・不合格',
    'sum.confirmed': '不良確定',
    'sum.overkill': '過検出（良品）',
    'sum.pending': '未確認',
    'sum.escapes': '見逃し（報告分）*',
    'sum.overkillShare': '過検出率（再検査分）',
    'sum.escapesNote': '* 見逃し（流出）はラインだけでは分かりません：合格品を後で再検査して不良と分かったものだけを数えているので、実際はこれより多い可能性があります。',
    'sum.col.flagged': '要確認・NG',
    'sum.col.confirmed_defective': '不良',
    'sum.col.overkill': '過検出',
    'sum.col.pending': '未確認',
    'sum.col.escapes': '見逃し *',
    'sum.byModel': 'モデルバージョン別',
    'sum.byType': '不良項目別',
    'sum.defectType': '不良項目',
    'sum.untyped': '項目なし',
    'sum.noDefects': 'この期間に確定した不良はありません。',

    'defect.scratch': 'キズ',
    'defect.crack': '割れ',
    'defect.spot': '汚れ',
    'defect.dent': '打痕',
    'defect.chip': '欠け',
    'defect.burr': 'バリ',
    'defect.contamination': '異物',
    'defect.missing_print': '印字欠け',
    'defect.unspecified': '項目なし',

    'confirm.ok': '実行',
    'confirm.cancel': 'キャンセル',

    'unit.seconds': '{value} 秒',
    'unit.minutes': '{value} 分',
    'unit.hours': '{value} 時間',
    'unit.percent': '{value} %',
    'unit.ms': '{value} ms',

    'error.http': 'サービスが拒否しました：{detail}（HTTP {status}）',
    'error.network': 'サービスに接続できません。',
  },
};

const LANGUAGE_STORAGE = 'gaikan.lang';

/** The language to use: `?lang=xx`, then the one chosen with the switch (kept in this browser),
 * then the browser's preferences, then English. */
export function pickLanguage(search = location.search, preferred = navigator.languages || [], storage = window.localStorage) {
  const asked = new URLSearchParams(search).get('lang');
  for (const candidate of [asked, storage.getItem(LANGUAGE_STORAGE), ...preferred]) {
    if (!candidate) continue;
    const base = candidate.toLowerCase().split('-')[0];
    if (base in STRINGS) return base;
  }
  return 'en';
}

/** Keep the language chosen with the switch for this browser. */
export function rememberLanguage(lang, storage = window.localStorage) {
  if (lang in STRINGS) storage.setItem(LANGUAGE_STORAGE, lang);
}

/** Text lookup for one language; missing keys fall back to English, then to the key itself. */
export class Texts {
  constructor(lang) {
    this.lang = lang in STRINGS ? lang : 'en';
    this.missing = new Set();
    this.numbers = new Map();
    // Factories run on a 24-hour clock.
    this.times = new Intl.DateTimeFormat(this.lang, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    this.minutes = new Intl.DateTimeFormat(this.lang, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    this.dateTimes = new Intl.DateTimeFormat(this.lang, {
      year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    });
  }

  t(key, values = {}) {
    const text = STRINGS[this.lang][key] ?? STRINGS.en[key];
    if (text === undefined) {
      this.missing.add(key);
      return key;
    }
    return text.replace(/\{(\w+)\}/g, (_, name) => (name in values ? String(values[name]) : `{${name}}`));
  }

  has(key) {
    return key in STRINGS[this.lang] || key in STRINGS.en;
  }

  /** A label for a data field: its translation when there is one, else the field name. */
  label(prefix, field) {
    const key = `${prefix}.${field}`;
    return this.has(key) ? this.t(key) : String(field).replaceAll('_', ' ');
  }

  /** Fill elements marked `data-i18n` (text), `data-i18n-title`, `data-i18n-aria-label`. */
  apply(root = document) {
    for (const element of root.querySelectorAll('[data-i18n]')) element.textContent = this.t(element.dataset.i18n);
    for (const element of root.querySelectorAll('[data-i18n-title]')) element.title = this.t(element.dataset.i18nTitle);
    for (const element of root.querySelectorAll('[data-i18n-aria-label]')) {
      element.setAttribute('aria-label', this.t(element.dataset.i18nAriaLabel));
    }
  }

  number(value, digits = 0) {
    if (value === null || value === undefined || !Number.isFinite(value)) return '–';
    if (!this.numbers.has(digits)) {
      this.numbers.set(digits, new Intl.NumberFormat(this.lang, { minimumFractionDigits: digits, maximumFractionDigits: digits }));
    }
    return this.numbers.get(digits).format(value);
  }

  /** Up to `digits` decimals, without trailing zeros (thresholds, audit values). */
  decimal(value, digits = 4) {
    if (value === null || value === undefined || !Number.isFinite(value)) return '–';
    const key = `max${digits}`;
    if (!this.numbers.has(key)) this.numbers.set(key, new Intl.NumberFormat(this.lang, { maximumFractionDigits: digits }));
    return this.numbers.get(key).format(value);
  }

  percent(part, whole) {
    return whole > 0 ? this.t('unit.percent', { value: this.number((100 * part) / whole, 1) }) : '–';
  }

  time(value) {
    return value ? this.times.format(new Date(value)) : '–';
  }

  hoursMinutes(value) {
    return value ? this.minutes.format(new Date(value)) : '–';
  }

  dateTime(value) {
    return value ? this.dateTimes.format(new Date(value)) : '–';
  }

  duration(seconds) {
    if (seconds < 90) return this.t('unit.seconds', { value: Math.round(seconds) });
    if (seconds < 5400) return this.t('unit.minutes', { value: Math.round(seconds / 60) });
    return this.t('unit.hours', { value: this.number(seconds / 3600, 1) });
  }
}
