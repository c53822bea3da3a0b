export type Json =
  | string
  | number
  | boolean
  | null
  | { [key: string]: Json | undefined }
  | Json[]

export type Database = {
  public: {
    Tables: {
      billing_payment_attempts: {
        Row: {
          charge_type: string | null
          clerk_created_at: string
          clerk_event_at: string
          clerk_id: string
          clerk_updated_at: string
          created_at: string
          currency: string | null
          failed_at: string | null
          failed_reason: Json | null
          id: string
          paid_at: string | null
          payer_organization_id: string | null
          payer_user_id: string | null
          status: string
          subtotal_amount: number | null
          svix_id: string
          tax_amount: number | null
          total_amount: number | null
          updated_at: string
        }
        Insert: {
          charge_type?: string | null
          clerk_created_at: string
          clerk_event_at: string
          clerk_id: string
          clerk_updated_at: string
          created_at?: string
          currency?: string | null
          failed_at?: string | null
          failed_reason?: Json | null
          id?: string
          paid_at?: string | null
          payer_organization_id?: string | null
          payer_user_id?: string | null
          status: string
          subtotal_amount?: number | null
          svix_id: string
          tax_amount?: number | null
          total_amount?: number | null
          updated_at?: string
        }
        Update: {
          charge_type?: string | null
          clerk_created_at?: string
          clerk_event_at?: string
          clerk_id?: string
          clerk_updated_at?: string
          created_at?: string
          currency?: string | null
          failed_at?: string | null
          failed_reason?: Json | null
          id?: string
          paid_at?: string | null
          payer_organization_id?: string | null
          payer_user_id?: string | null
          status?: string
          subtotal_amount?: number | null
          svix_id?: string
          tax_amount?: number | null
          total_amount?: number | null
          updated_at?: string
        }
        Relationships: []
      }
      billing_subscription_items: {
        Row: {
          clerk_created_at: string
          clerk_event_at: string
          clerk_id: string
          clerk_updated_at: string
          created_at: string
          id: string
          interval: string | null
          is_free_trial: boolean
          payer_organization_id: string | null
          payer_user_id: string | null
          period_end: string | null
          period_start: string | null
          plan_id: string | null
          plan_name: string | null
          plan_slug: string | null
          seats: number | null
          status: string
          subscription_id: string | null
          svix_id: string
          updated_at: string
        }
        Insert: {
          clerk_created_at: string
          clerk_event_at: string
          clerk_id: string
          clerk_updated_at: string
          created_at?: string
          id?: string
          interval?: string | null
          is_free_trial?: boolean
          payer_organization_id?: string | null
          payer_user_id?: string | null
          period_end?: string | null
          period_start?: string | null
          plan_id?: string | null
          plan_name?: string | null
          plan_slug?: string | null
          seats?: number | null
          status: string
          subscription_id?: string | null
          svix_id: string
          updated_at?: string
        }
        Update: {
          clerk_created_at?: string
          clerk_event_at?: string
          clerk_id?: string
          clerk_updated_at?: string
          created_at?: string
          id?: string
          interval?: string | null
          is_free_trial?: boolean
          payer_organization_id?: string | null
          payer_user_id?: string | null
          period_end?: string | null
          period_start?: string | null
          plan_id?: string | null
          plan_name?: string | null
          plan_slug?: string | null
          seats?: number | null
          status?: string
          subscription_id?: string | null
          svix_id?: string
          updated_at?: string
        }
        Relationships: []
      }
      billing_subscriptions: {
        Row: {
          active_at: string | null
          canceled_at: string | null
          clerk_created_at: string
          clerk_event_at: string
          clerk_id: string
          clerk_updated_at: string
          created_at: string
          ended_at: string | null
          id: string
          past_due_at: string | null
          payer_organization_id: string | null
          payer_user_id: string | null
          status: string
          svix_id: string
          updated_at: string
        }
        Insert: {
          active_at?: string | null
          canceled_at?: string | null
          clerk_created_at: string
          clerk_event_at: string
          clerk_id: string
          clerk_updated_at: string
          created_at?: string
          ended_at?: string | null
          id?: string
          past_due_at?: string | null
          payer_organization_id?: string | null
          payer_user_id?: string | null
          status: string
          svix_id: string
          updated_at?: string
        }
        Update: {
          active_at?: string | null
          canceled_at?: string | null
          clerk_created_at?: string
          clerk_event_at?: string
          clerk_id?: string
          clerk_updated_at?: string
          created_at?: string
          ended_at?: string | null
          id?: string
          past_due_at?: string | null
          payer_organization_id?: string | null
          payer_user_id?: string | null
          status?: string
          svix_id?: string
          updated_at?: string
        }
        Relationships: []
      }
      organization_domains: {
        Row: {
          clerk_created_at: string
          clerk_event_at: string
          clerk_id: string
          clerk_updated_at: string
          created_at: string
          enrollment_mode: string
          id: string
          name: string
          organization_id: string
          svix_id: string
          updated_at: string
          verification_status: string | null
        }
        Insert: {
          clerk_created_at: string
          clerk_event_at: string
          clerk_id: string
          clerk_updated_at: string
          created_at?: string
          enrollment_mode: string
          id?: string
          name: string
          organization_id: string
          svix_id: string
          updated_at?: string
          verification_status?: string | null
        }
        Update: {
          clerk_created_at?: string
          clerk_event_at?: string
          clerk_id?: string
          clerk_updated_at?: string
          created_at?: string
          enrollment_mode?: string
          id?: string
          name?: string
          organization_id?: string
          svix_id?: string
          updated_at?: string
          verification_status?: string | null
        }
        Relationships: []
      }
      organization_invitations: {
        Row: {
          clerk_created_at: string
          clerk_event_at: string
          clerk_id: string
          clerk_updated_at: string
          created_at: string
          email_address: string
          expires_at: string | null
          id: string
          organization_id: string
          public_metadata: Json
          role: string
          role_name: string | null
          status: string
          svix_id: string
          updated_at: string
          user_id: string | null
        }
        Insert: {
          clerk_created_at: string
          clerk_event_at: string
          clerk_id: string
          clerk_updated_at: string
          created_at?: string
          email_address: string
          expires_at?: string | null
          id?: string
          organization_id: string
          public_metadata?: Json
          role: string
          role_name?: string | null
          status: string
          svix_id: string
          updated_at?: string
          user_id?: string | null
        }
        Update: {
          clerk_created_at?: string
          clerk_event_at?: string
          clerk_id?: string
          clerk_updated_at?: string
          created_at?: string
          email_address?: string
          expires_at?: string | null
          id?: string
          organization_id?: string
          public_metadata?: Json
          role?: string
          role_name?: string | null
          status?: string
          svix_id?: string
          updated_at?: string
          user_id?: string | null
        }
        Relationships: []
      }
      organization_invitations_private: {
        Row: {
          clerk_id: string
          private_metadata: Json
        }
        Insert: {
          clerk_id: string
          private_metadata?: Json
        }
        Update: {
          clerk_id?: string
          private_metadata?: Json
        }
        Relationships: [
          {
            foreignKeyName: "organization_invitations_private_clerk_id_fkey"
            columns: ["clerk_id"]
            isOneToOne: true
            referencedRelation: "organization_invitations"
            referencedColumns: ["clerk_id"]
          },
        ]
      }
      organization_memberships: {
        Row: {
          clerk_created_at: string
          clerk_event_at: string
          clerk_id: string
          clerk_updated_at: string
          created_at: string
          id: string
          organization_id: string
          permissions: string[]
          public_metadata: Json
          role: string
          role_name: string | null
          svix_id: string
          updated_at: string
          user_first_name: string | null
          user_id: string
          user_identifier: string | null
          user_image_url: string | null
          user_last_name: string | null
        }
        Insert: {
          clerk_created_at: string
          clerk_event_at: string
          clerk_id: string
          clerk_updated_at: string
          created_at?: string
          id?: string
          organization_id: string
          permissions?: string[]
          public_metadata?: Json
          role: string
          role_name?: string | null
          svix_id: string
          updated_at?: string
          user_first_name?: string | null
          user_id: string
          user_identifier?: string | null
          user_image_url?: string | null
          user_last_name?: string | null
        }
        Update: {
          clerk_created_at?: string
          clerk_event_at?: string
          clerk_id?: string
          clerk_updated_at?: string
          created_at?: string
          id?: string
          organization_id?: string
          permissions?: string[]
          public_metadata?: Json
          role?: string
          role_name?: string | null
          svix_id?: string
          updated_at?: string
          user_first_name?: string | null
          user_id?: string
          user_identifier?: string | null
          user_image_url?: string | null
          user_last_name?: string | null
        }
        Relationships: []
      }
      organization_memberships_private: {
        Row: {
          clerk_id: string
          private_metadata: Json
        }
        Insert: {
          clerk_id: string
          private_metadata?: Json
        }
        Update: {
          clerk_id?: string
          private_metadata?: Json
        }
        Relationships: [
          {
            foreignKeyName: "organization_memberships_private_clerk_id_fkey"
            columns: ["clerk_id"]
            isOneToOne: true
            referencedRelation: "organization_memberships"
            referencedColumns: ["clerk_id"]
          },
        ]
      }
      organization_permissions: {
        Row: {
          clerk_created_at: string
          clerk_event_at: string
          clerk_id: string
          clerk_updated_at: string
          created_at: string
          description: string | null
          id: string
          key: string
          name: string
          svix_id: string
          type: string | null
          updated_at: string
        }
        Insert: {
          clerk_created_at: string
          clerk_event_at: string
          clerk_id: string
          clerk_updated_at: string
          created_at?: string
          description?: string | null
          id?: string
          key: string
          name: string
          svix_id: string
          type?: string | null
          updated_at?: string
        }
        Update: {
          clerk_created_at?: string
          clerk_event_at?: string
          clerk_id?: string
          clerk_updated_at?: string
          created_at?: string
          description?: string | null
          id?: string
          key?: string
          name?: string
          svix_id?: string
          type?: string | null
          updated_at?: string
        }
        Relationships: []
      }
      organization_roles: {
        Row: {
          clerk_created_at: string
          clerk_event_at: string
          clerk_id: string
          clerk_updated_at: string
          created_at: string
          description: string | null
          id: string
          key: string
          name: string
          permissions: string[]
          svix_id: string
          updated_at: string
        }
        Insert: {
          clerk_created_at: string
          clerk_event_at: string
          clerk_id: string
          clerk_updated_at: string
          created_at?: string
          description?: string | null
          id?: string
          key: string
          name: string
          permissions?: string[]
          svix_id: string
          updated_at?: string
        }
        Update: {
          clerk_created_at?: string
          clerk_event_at?: string
          clerk_id?: string
          clerk_updated_at?: string
          created_at?: string
          description?: string | null
          id?: string
          key?: string
          name?: string
          permissions?: string[]
          svix_id?: string
          updated_at?: string
        }
        Relationships: []
      }
      organizations: {
        Row: {
          clerk_created_at: string
          clerk_event_at: string
          clerk_id: string
          clerk_updated_at: string
          created_at: string
          created_by: string | null
          deleted_at: string | null
          id: string
          image_url: string | null
          max_allowed_memberships: number | null
          name: string
          public_metadata: Json
          slug: string | null
          svix_id: string
          updated_at: string
        }
        Insert: {
          clerk_created_at: string
          clerk_event_at: string
          clerk_id: string
          clerk_updated_at: string
          created_at?: string
          created_by?: string | null
          deleted_at?: string | null
          id?: string
          image_url?: string | null
          max_allowed_memberships?: number | null
          name: string
          public_metadata?: Json
          slug?: string | null
          svix_id: string
          updated_at?: string
        }
        Update: {
          clerk_created_at?: string
          clerk_event_at?: string
          clerk_id?: string
          clerk_updated_at?: string
          created_at?: string
          created_by?: string | null
          deleted_at?: string | null
          id?: string
          image_url?: string | null
          max_allowed_memberships?: number | null
          name?: string
          public_metadata?: Json
          slug?: string | null
          svix_id?: string
          updated_at?: string
        }
        Relationships: []
      }
      organizations_private: {
        Row: {
          clerk_id: string
          private_metadata: Json
        }
        Insert: {
          clerk_id: string
          private_metadata?: Json
        }
        Update: {
          clerk_id?: string
          private_metadata?: Json
        }
        Relationships: [
          {
            foreignKeyName: "organizations_private_clerk_id_fkey"
            columns: ["clerk_id"]
            isOneToOne: true
            referencedRelation: "organizations"
            referencedColumns: ["clerk_id"]
          },
        ]
      }
      users: {
        Row: {
          banned: boolean
          clerk_created_at: string
          clerk_event_at: string
          clerk_id: string
          clerk_updated_at: string
          created_at: string
          deleted_at: string | null
          email: string | null
          email_verified: boolean
          external_id: string | null
          first_name: string | null
          id: string
          image_url: string | null
          last_name: string | null
          last_sign_in_at: string | null
          locked: boolean
          phone_number: string | null
          public_metadata: Json
          svix_id: string
          sync_format: number
          unsafe_metadata: Json
          updated_at: string
          username: string | null
        }
        Insert: {
          banned?: boolean
          clerk_created_at: string
          clerk_event_at: string
          clerk_id: string
          clerk_updated_at: string
          created_at?: string
          deleted_at?: string | null
          email?: string | null
          email_verified?: boolean
          external_id?: string | null
          first_name?: string | null
          id?: string
          image_url?: string | null
          last_name?: string | null
          last_sign_in_at?: string | null
          locked?: boolean
          phone_number?: string | null
          public_metadata?: Json
          svix_id: string
          sync_format?: number
          unsafe_metadata?: Json
          updated_at?: string
          username?: string | null
        }
        Update: {
          banned?: boolean
          clerk_created_at?: string
          clerk_event_at?: string
          clerk_id?: string
          clerk_updated_at?: string
          created_at?: string
          deleted_at?: string | null
          email?: string | null
          email_verified?: boolean
          external_id?: string | null
          first_name?: string | null
          id?: string
          image_url?: string | null
          last_name?: string | null
          last_sign_in_at?: string | null
          locked?: boolean
          phone_number?: string | null
          public_metadata?: Json
          svix_id?: string
          sync_format?: number
          unsafe_metadata?: Json
          updated_at?: string
          username?: string | null
        }
        Relationships: []
      }
      users_private: {
        Row: {
          clerk_id: string
          private_metadata: Json
        }
        Insert: {
          clerk_id: string
          private_metadata?: Json
        }
        Update: {
          clerk_id?: string
          private_metadata?: Json
        }
        Relationships: [
          {
            foreignKeyName: "users_private_clerk_id_fkey"
            columns: ["clerk_id"]
            isOneToOne: true
            referencedRelation: "users"
            referencedColumns: ["clerk_id"]
          },
        ]
      }
      waitlist_entries: {
        Row: {
          clerk_created_at: string
          clerk_event_at: string
          clerk_id: string
          clerk_updated_at: string
          created_at: string
          email_address: string
          id: string
          status: string
          svix_id: string
          updated_at: string
        }
        Insert: {
          clerk_created_at: string
          clerk_event_at: string
          clerk_id: string
          clerk_updated_at: string
          created_at?: string
          email_address: string
          id?: string
          status: string
          svix_id: string
          updated_at?: string
        }
        Update: {
          clerk_created_at?: string
          clerk_event_at?: string
          clerk_id?: string
          clerk_updated_at?: string
          created_at?: string
          email_address?: string
          id?: string
          status?: string
          svix_id?: string
          updated_at?: string
        }
        Relationships: []
      }
    }
    Views: {
      [_ in never]: never
    }
    Functions: {
      apply_clerk_event: {
        Args: {
          p_deadline?: string
          p_event_at: string
          p_event_type: string
          p_object_id?: string
          p_state?: Json
          p_svix_id: string
        }
        Returns: string
      }
      apply_clerk_events: {
        Args: { p_deadline?: string; p_events: Json }
        Returns: string[]
      }
      apply_clerk_user_event: {
        Args: {
          p_clerk_created_at?: string
          p_clerk_id?: string
          p_clerk_updated_at?: string
          p_deadline?: string
          p_email?: string
          p_event_at: string
          p_event_type: string
          p_first_name?: string
          p_image_url?: string
          p_last_name?: string
          p_svix_id: string
        }
        Returns: string
      }
      clerk_sync_schema_version: { Args: never; Returns: string }
      clerk_sync_status: { Args: never; Returns: Json }
      clerk_sync_user: { Args: { p_clerk_id: string }; Returns: Json }
      clerk_sync_versions: {
        Args: {
          p_after?: string
          p_column?: string
          p_limit?: number
          p_table: unknown
        }
        Returns: Json
      }
      record_clerk_backfill_run: {
        Args: {
          p_counts: Json
          p_error?: string
          p_finished_at: string
          p_mode: string
          p_ok: boolean
          p_started_at: string
        }
        Returns: number
      }
      record_clerk_refusal: {
        Args: {
          p_event_type: string
          p_reason: string
          p_status: number
          p_svix_id: string
        }
        Returns: undefined
      }
    }
    Enums: {
      [_ in never]: never
    }
    CompositeTypes: {
      [_ in never]: never
    }
  }
}

type DatabaseWithoutInternals = Omit<Database, "__InternalSupabase">

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "public">]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] &
        DefaultSchema["Views"])
    ? (DefaultSchema["Tables"] &
        DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
        Row: infer R
      }
      ? R
      : never
    : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Insert: infer I
      }
      ? I
      : never
    : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Update: infer U
      }
      ? U
      : never
    : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends (DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never) = never,
> = DefaultSchemaEnumNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
    ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
    : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends (PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never) = never,
> = PublicCompositeTypeNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
    ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
    : never

export const Constants = {
  public: {
    Enums: {},
  },
} as const

