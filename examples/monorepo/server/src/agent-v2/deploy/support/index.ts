import { db } from "../../../lib/db"; import { runtime } from "../../core/runtime"; export const agent = "support";
