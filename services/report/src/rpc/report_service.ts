/**
 * ReportService handlers: request → command, one use case, result → response.
 */
import type {ServiceImpl} from '@connectrpc/connect';
import type {ReportService} from '../../../../gen/agora/report/v1/report_service_pb.js';
import type {ExportSalesReport} from '../app/export_sales_report.js';
import type {GetReportJob} from '../app/get_report_job.js';
import type {GetSalesReport} from '../app/get_sales_report.js';
import type {StartSalesReportJob} from '../app/start_sales_report_job.js';
import {groupByFromProto, jobToProto, reportToProto} from './mapper.js';

export interface ReportUseCases {
  startJob: StartSalesReportJob;
  getJob: GetReportJob;
  salesReport: GetSalesReport;
  exportReport: ExportSalesReport;
}

const utf8 = new TextEncoder();

export function createReportService(
  uc: ReportUseCases,
): ServiceImpl<typeof ReportService> {
  return {
    async startSalesReportJob(req) {
      const job = await uc.startJob.execute({
        requestId: req.requestId,
        startDate: req.startDate,
        endDate: req.endDate,
        groupBy: groupByFromProto(req.groupBy),
      });
      return {job: jobToProto(job)};
    },

    async getReportJob(req) {
      return {job: jobToProto(await uc.getJob.execute(req.jobId))};
    },

    async getSalesReport(req) {
      const report = await uc.salesReport.execute({
        startDate: req.startDate,
        endDate: req.endDate,
        groupBy: groupByFromProto(req.groupBy),
      });
      return {report: reportToProto(report)};
    },

    async exportSalesReport(req) {
      const file = await uc.exportReport.execute(req.jobId);
      return {
        fileName: file.fileName,
        contentType: file.contentType,
        content: utf8.encode(file.content),
      };
    },
  };
}
