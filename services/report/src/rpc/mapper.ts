/**
 * Proto <-> domain for Report's API. The only place that knows both shapes.
 */
import {create} from '@bufbuild/protobuf';
import {timestampFromDate} from '@bufbuild/protobuf/wkt';
import * as reportv1 from '../../../../gen/agora/report/v1/report_pb.js';
import {InvalidArgumentError} from '../../../common/errors/domain_error.js';
import {moneyToProto} from '../../../common/money/money_proto.js';
import type {ReportJob, ReportJobState} from '../domain/report_job.js';
import type {GroupBy, SalesReport, SalesRow} from '../domain/sales_report.js';

const GROUP_BY_FROM_PROTO: Partial<Record<reportv1.GroupBy, GroupBy>> = {
  [reportv1.GroupBy.DAY]: 'day',
  [reportv1.GroupBy.PRODUCT]: 'product',
};

const GROUP_BY_TO_PROTO: Record<GroupBy, reportv1.GroupBy> = {
  day: reportv1.GroupBy.DAY,
  product: reportv1.GroupBy.PRODUCT,
};

const JOB_STATES: Record<ReportJobState, reportv1.ReportJobState> = {
  pending: reportv1.ReportJobState.PENDING,
  running: reportv1.ReportJobState.RUNNING,
  succeeded: reportv1.ReportJobState.SUCCEEDED,
  failed: reportv1.ReportJobState.FAILED,
};

export function groupByFromProto(groupBy: reportv1.GroupBy): GroupBy {
  const mapped = GROUP_BY_FROM_PROTO[groupBy];
  if (!mapped) {
    throw new InvalidArgumentError(
      'group_by',
      'must be GROUP_BY_DAY or GROUP_BY_PRODUCT',
    );
  }
  return mapped;
}

export function rowToProto(row: SalesRow): reportv1.SalesReportRow {
  return create(reportv1.SalesReportRowSchema, {
    key: row.key,
    currencyCode: row.currencyCode,
    orders: row.orders,
    units: row.units,
    revenue: moneyToProto(row.revenue),
  });
}

export function reportToProto(report: SalesReport): reportv1.SalesReport {
  return create(reportv1.SalesReportSchema, {
    startDate: report.period.startDate,
    endDate: report.period.endDate,
    groupBy: GROUP_BY_TO_PROTO[report.groupBy],
    rows: report.rows.map(rowToProto),
    totals: report.totals.map(rowToProto),
    generateTime: timestampFromDate(report.generatedAt),
  });
}

export function jobToProto(job: ReportJob): reportv1.ReportJob {
  return create(reportv1.ReportJobSchema, {
    jobId: job.id,
    state: JOB_STATES[job.state],
    startDate: job.spec.period.startDate,
    endDate: job.spec.period.endDate,
    groupBy: GROUP_BY_TO_PROTO[job.spec.groupBy],
    rowCount: job.rowCount,
    errorMessage: job.errorMessage,
    createTime: timestampFromDate(job.createdAt),
    finishTime: job.finishedAt && timestampFromDate(job.finishedAt),
  });
}
