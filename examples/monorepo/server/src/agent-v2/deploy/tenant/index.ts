import { db } from "../../../lib/db"; export const agent = "tenant";
