/** Report's domain errors. */
import {
  FailedPreconditionError,
  NotFoundError,
} from '../../../common/errors/domain_error.js';

export class UnknownReportJobError extends NotFoundError {
  constructor(jobId: string) {
    super('report job', jobId);
  }
}

/** The job has not (or not yet) produced a report; export waits for SUCCEEDED. */
export class ReportJobNotSucceededError extends FailedPreconditionError {
  constructor(jobId: string, state: string, errorMessage: string) {
    super(
      state === 'failed'
        ? `report job ${jobId} FAILED (${errorMessage}); start a new job with a new request_id`
        : `report job ${jobId} is ${state.toUpperCase()}; export it once GetReportJob says SUCCEEDED`,
      {jobId, state},
    );
  }
}

/** A job was asked to move to a state its current one does not lead to (a bug). */
export class IllegalReportJobTransitionError extends FailedPreconditionError {
  constructor(jobId: string, from: string, to: string) {
    super(`report job ${jobId} is ${from}; it cannot become ${to}`, {
      jobId,
      state: from,
    });
  }
}
